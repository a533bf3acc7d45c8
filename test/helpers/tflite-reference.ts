// TensorFlow Lite's own interpreter (tfjs-tflite's WebAssembly build) in headless Chromium: the reference the compiler is checked against.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from './web.js';

const require = createRequire(import.meta.url);
const WASM_DIR = path.join(path.dirname(require.resolve('@tensorflow/tfjs-tflite/package.json')), 'wasm');
/** A made-up origin: every request to it is answered from disk by the route below, none leaves the machine. */
const ORIGIN = 'http://tflite-reference.invalid';

const b64 = (a: Float32Array | Uint8Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

export interface ReferenceTensor {
  name: string;
  shape: number[];
  dataType: string;
}

/**
 * TFLite's C++ interpreter compiled to WebAssembly by the TensorFlow team (with its default XNNPACK
 * delegate, as on Android; one thread), driven through its low-level model runner: independent of
 * this project's compiler except for the .tflite bytes both read.
 */
export class TfliteReference {
  /** What the interpreter printed (its reasons for refusing a model), cleared by every load. */
  private readonly console: string[] = [];

  private constructor(
    private readonly browser: Browser,
    private readonly page: Page,
  ) {
    page.on('console', (message) => this.console.push(message.text()));
  }

  static async start(): Promise<TfliteReference> {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.route(`${ORIGIN}/**`, async (route) => {
        const name = new URL(route.request().url()).pathname.slice(1);
        if (name === '') return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>tflite</title>' });
        const type = name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
        return route.fulfill({ contentType: type, body: await readFile(path.join(WASM_DIR, path.basename(name))) });
      });
      await page.goto(`${ORIGIN}/`);
      await page.addScriptTag({ url: `${ORIGIN}/tflite_web_api_client.js` });
      await page.evaluate((origin) => {
        const w = window as unknown as { tfweb: { tflite_web_api: { setWasmPath(p: string): void } } };
        w.tfweb.tflite_web_api.setWasmPath(`${origin}/`);
      }, ORIGIN);
      return new TfliteReference(browser, page);
    } catch (err) {
      await browser.close();
      throw err;
    }
  }

  /** Loads a model under `key`; returns its input and output tensors. */
  async load(key: string, model: Uint8Array): Promise<{ inputs: ReferenceTensor[]; outputs: ReferenceTensor[] }> {
    this.console.length = 0;
    return this.page
      .evaluate(
        async ([k, data]) => {
          const bytes = Uint8Array.from(atob(data), (ch) => ch.charCodeAt(0));
          type Info = { name: string; shape: string; dataType: string };
          const w = window as unknown as {
            tfweb: { TFLiteWebModelRunner: { create(m: ArrayBuffer, o: object): Promise<{ getInputs(): Info[]; getOutputs(): Info[] }> } };
            runners?: Record<string, unknown>;
          };
          const runner = await w.tfweb.TFLiteWebModelRunner.create(bytes.buffer, { numThreads: 1 });
          (w.runners ??= {})[k] = runner;
          const info = (t: Info) => ({ name: t.name, shape: t.shape.split(',').map(Number), dataType: t.dataType });
          return { inputs: runner.getInputs().map(info), outputs: runner.getOutputs().map(info) };
        },
        [key, b64(model)] as const,
      )
      .catch((err: Error) => {
        throw new Error(`${err.message.split('\n')[0]}; the interpreter said: ${this.console.join(' | ') || 'nothing'}`);
      });
  }

  /** Runs the model loaded under `key` on float inputs (one per model input, its full size). */
  async run(key: string, inputs: Float32Array[]): Promise<Float32Array[]> {
    const outputs = await this.page.evaluate(
      ([k, data]) => {
        type Tensor = { data(): Float32Array };
        const w = window as unknown as { runners: Record<string, { getInputs(): Tensor[]; getOutputs(): Tensor[]; infer(): boolean }> };
        const runner = w.runners[k]!;
        runner.getInputs().forEach((t, i) => {
          const bytes = Uint8Array.from(atob(data[i]!), (ch) => ch.charCodeAt(0));
          t.data().set(new Float32Array(bytes.buffer));
        });
        if (!runner.infer()) throw new Error('TFLite inference failed');
        return runner.getOutputs().map((t) => {
          // Bytes as a base64 string: a plain array of 10^6 floats is slow to serialise.
          const out = t.data();
          let s = '';
          const u8 = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
          for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
          return btoa(s);
        });
      },
      [key, inputs.map(b64)] as const,
    );
    return outputs.map((s) => {
      const bytes = Buffer.from(s, 'base64');
      return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    });
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}
