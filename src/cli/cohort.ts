// `cohort`: embeds the strangers every model is calibrated against (see src/train/cohort.ts).
import path from 'node:path';
import { RecognizerError } from '../errors.js';
import { chooseActorFaces, noSkips } from '../train/choose-faces.js';
import { cohortFile, writeCohort } from '../train/cohort.js';
import { scanDataset } from '../train/dataset.js';
import { datasetFaces, print, type CommandContext } from './common.js';

export interface CohortArgs {
  datasets: string[];
  /** People found under these folders are left out (they are the ones evaluations hold out as strangers). */
  exclude: string[];
  out?: string;
  maxPerPerson: number;
  cache: boolean;
}

export async function cohortCommand(ctx: CommandContext, args: CohortArgs): Promise<void> {
  const dataset = await scanDataset(args.datasets);
  const excluded = new Set<string>();
  for (const root of args.exclude) for (const name of (await scanDataset([root])).keys()) excluded.add(name.toLowerCase());
  for (const name of [...dataset.keys()]) if (excluded.has(name.toLowerCase())) dataset.delete(name);
  if (dataset.size === 0) throw new RecognizerError('DATASET_INVALID', 'every person of the dataset is excluded');
  const { source, embedder } = await datasetFaces(ctx.config, { cache: args.cache });
  const identities = new Map<string, Float32Array[]>();
  const skipped = noSkips();
  for await (const { actor, faces } of chooseActorFaces(source, dataset, { maxPerActor: args.maxPerPerson, seed: 1, label: 'cohort' }, skipped)) {
    if (faces.length > 0)
      identities.set(
        actor,
        faces.map((f) => f.face.embedding),
      );
  }
  const out = args.out ?? cohortFile(embedder.id);
  await writeCohort(out, embedder, args.datasets.map((d) => path.basename(d)).join(', '), identities);
  const faces = [...identities.values()].reduce((n, l) => n + l.length, 0);
  print(
    ctx.json,
    { out, embedder: embedder.id, identities: identities.size, faces, excluded: excluded.size },
    `cohort of ${identities.size} people (${faces} faces) for ${embedder.id} written to ${out}`,
  );
}
