// One bundle loaded for good: the model source of the CLI commands (the daemon's is the model store).
import { ActorModel } from './actor-model.js';
import type { ModelSource } from './recognizer.js';

export class FixedModel implements ModelSource {
  private constructor(
    private readonly model: ActorModel | null,
    private readonly dir: string | null,
  ) {}

  /** Loads and verifies the bundle at `dir`; no `dir`: no model, every face is unknown. */
  static async load(dir: string | undefined, options: Parameters<typeof ActorModel.load>[1] = {}): Promise<FixedModel> {
    return new FixedModel(dir ? await ActorModel.load(dir, options) : null, dir ?? null);
  }

  current(): ActorModel | null {
    return this.model;
  }

  currentSource(): string | null {
    return this.dir;
  }

  async stop(): Promise<void> {
    await this.model?.release();
  }
}
