// The model bundle's manifest: its schema, and reading a bundle folder with every file verified.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { RecognizerError } from '../errors.js';
import { MANIFEST_FILE, manifestPath, VERSION_PATTERN } from './bundle-layout.js';

export const BUNDLE_FORMAT = 'actor-recognizer/bundle@1';

const FileEntry = Type.Object({ sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }), size: Type.Integer({ minimum: 0 }) });

/** The contract of the head's input: what embedding it expects and how it was made. */
const EmbeddingInput = Type.Object({
  type: Type.Literal('embedding'),
  /** Graph input name, e.g. `embedding`. */
  name: Type.String({ minLength: 1 }),
  size: Type.Integer({ minimum: 1 }),
  /** Which extractor made the embeddings the head was trained on: the embedder's id (older bundles: a description). */
  extractor: Type.String({ minLength: 1 }),
  /** The embedding stage the head was fitted on (src/vision/embedder.ts); a daemon running another refuses the bundle. */
  embedder: Type.Optional(
    Type.Object({
      id: Type.String({ minLength: 1 }),
      network: Type.Object({ id: Type.String(), version: Type.String() }),
      size: Type.Integer({ minimum: 1 }),
      input: Type.Object({ size: Type.Integer({ minimum: 1 }), alignment: Type.String(), normalisation: Type.String() }),
      tta: Type.Union([Type.Literal('none'), Type.Literal('flip')]),
    }),
  ),
});

/** The face chip that `image-classifier` bundles take: the aligner's 150×150 dlib chip. */
export const CHIP_CROP = 'dlib-chip-150';

/**
 * The contract of an image classifier's input (an end-to-end model such as ResNet50 over face
 * chips): the aligned chip is resized to width×height (bilinear, half-pixel centres, no
 * antialiasing: PyTorch's `interpolate(mode='bilinear', align_corners=False)`), each value becomes
 * (pixel / 255 - mean[c]) / std[c] with the channels in `colour` order, and is laid out as `layout`.
 */
export const ImageInput = Type.Object({
  type: Type.Literal('image'),
  name: Type.String({ minLength: 1 }),
  width: Type.Integer({ minimum: 32, maximum: 1024 }),
  height: Type.Integer({ minimum: 32, maximum: 1024 }),
  layout: Type.Union([Type.Literal('NCHW'), Type.Literal('NHWC')]),
  colour: Type.Union([Type.Literal('RGB'), Type.Literal('BGR')]),
  mean: Type.Array(Type.Number(), { minItems: 3, maxItems: 3 }),
  std: Type.Array(Type.Number({ exclusiveMinimum: 0 }), { minItems: 3, maxItems: 3 }),
  /** Which crop of the face the model was trained on; the daemon cuts only its own chip. */
  crop: Type.Literal(CHIP_CROP),
});

export type ImageContract = Static<typeof ImageInput>;

export const ManifestSchema = Type.Object({
  format: Type.Literal(BUNDLE_FORMAT),
  version: Type.String({ minLength: 1, maxLength: 128, pattern: VERSION_PATTERN }),
  /** `embedding-classifier`: a head over the face descriptor; `image-classifier`: a network over the face chip. */
  kind: Type.Union([Type.Literal('embedding-classifier'), Type.Literal('image-classifier')]),
  createdAt: Type.String(),
  actors: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  input: Type.Union([EmbeddingInput, ImageInput]),
  head: Type.Object({
    /** `ncm-cosine`: cosine similarity to each actor's mean embedding. */
    type: Type.String({ minLength: 1 }),
    graph: Type.String({ minLength: 1 }),
    output: Type.String({ minLength: 1 }),
    /** What the output's numbers are: `cosine` similarities or softmax `probability`. */
    score: Type.Union([Type.Literal('cosine'), Type.Literal('probability')]),
  }),
  /** Per-actor acceptance thresholds on the head's score; `default` for actors not listed. */
  thresholds: Type.Object({
    default: Type.Number(),
    perActor: Type.Record(Type.String(), Type.Number()),
    /** For tracks (many faces of one person added up): the least a track's spread-corrected aggregate needs, whatever the actor. */
    track: Type.Optional(Type.Number()),
    /** How the thresholds were chosen, and what they did on the calibration data. */
    operatingPoint: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
  metrics: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  training: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  /**
   * A few embeddings with the actor each must come out as (null: unknown), checked before the bundle
   * runs, so that a head trained on another extractor or with shuffled labels is refused.
   */
  references: Type.Optional(
    Type.Array(Type.Object({ embedding: Type.Array(Type.Number()), actor: Type.Union([Type.String(), Type.Null()]) }), { maxItems: 64 }),
  ),
  files: Type.Record(Type.String(), FileEntry),
});

export type Manifest = Static<typeof ManifestSchema>;

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The first schema error, as `path: message`. The input is checked against the contract its `kind`
 * calls for first, since a union's own error ("Expected union value") would not say what is wrong.
 */
function schemaProblem(value: unknown): string | undefined {
  const { kind, input } = (value ?? {}) as { kind?: unknown; input?: unknown };
  if (input !== undefined) {
    const wrong = Value.Errors(kind === 'image-classifier' ? ImageInput : EmbeddingInput, input).First();
    if (wrong) return `/input${wrong.path}: ${wrong.message}`;
  }
  const first = Value.Errors(ManifestSchema, value).First();
  return first && `${first.path || '/'}: ${first.message}`;
}

/**
 * Reads `dir/manifest.json`, checks it against the schema, and reads every file it lists, checking
 * size and sha256. Returns the manifest and the verified contents, so nothing is read twice and
 * nothing changes between the check and the use.
 */
export async function readBundle(dir: string): Promise<{ manifest: Manifest; files: Map<string, Buffer> }> {
  let raw: string;
  try {
    raw = await readFile(manifestPath(dir), 'utf8');
  } catch (err) {
    throw new RecognizerError('MODEL_NOT_FOUND', `no ${MANIFEST_FILE} in ${dir}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new RecognizerError('MODEL_MANIFEST_INVALID', `${MANIFEST_FILE} in ${dir} is not JSON`, { cause: err });
  }
  const problem = schemaProblem(parsed);
  if (problem || !Value.Check(ManifestSchema, parsed))
    throw new RecognizerError('MODEL_MANIFEST_INVALID', `${MANIFEST_FILE} in ${dir}: ${problem ?? 'invalid'}`);
  const manifest = parsed;
  if (new Set(manifest.actors).size !== manifest.actors.length) {
    throw new RecognizerError('MODEL_MANIFEST_INVALID', `${MANIFEST_FILE} in ${dir}: actor names repeat`);
  }
  if (!(manifest.head.graph in manifest.files)) {
    throw new RecognizerError('MODEL_MANIFEST_INVALID', `${MANIFEST_FILE} in ${dir}: the head graph ${manifest.head.graph} is not among its files`);
  }
  const files = new Map<string, Buffer>();
  for (const [name, entry] of Object.entries(manifest.files)) {
    const resolved = path.resolve(dir, name);
    if (path.dirname(resolved) !== path.resolve(dir)) {
      throw new RecognizerError('MODEL_MANIFEST_INVALID', `${MANIFEST_FILE} in ${dir}: file name ${name} leaves the bundle`);
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(resolved);
    } catch (err) {
      throw new RecognizerError('MODEL_FILE_MISSING', `bundle ${manifest.version}: ${name} is missing`, { cause: err });
    }
    if (bytes.length !== entry.size || sha256(bytes) !== entry.sha256) {
      throw new RecognizerError('MODEL_CHECKSUM', `bundle ${manifest.version}: ${name} does not match its size and sha256 in the manifest`);
    }
    files.set(name, bytes);
  }
  return { manifest, files };
}
