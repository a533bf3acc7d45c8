// Loads face-api's Node/WASM build once, with TensorFlow.js on its WebAssembly backend.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

// face-api's typings describe its ESM build; the Node/WASM build has the same API, and its `tf`
// carries all of TensorFlow.js, of which the typings name only part.
type FaceApiTypes = typeof import('@vladmandic/face-api');
export type FaceApi = FaceApiTypes & {
  tf: FaceApiTypes['tf'] & {
    setWasmPaths(prefix: string, usePlatformFetch?: boolean): void;
    setBackend(name: string): Promise<boolean>;
    ready(): Promise<void>;
    memory(): { numTensors: number; numBytes: number };
  };
};

let loading: Promise<FaceApi> | undefined;

/** Folder of face-api's weight files inside the npm package. */
export function faceApiModelDir(): string {
  return path.dirname(require.resolve('@vladmandic/face-api/model/ssd_mobilenetv1_model.bin'));
}

/** The installed face-api version: a changed version means changed weights. */
export function faceApiVersion(): string {
  return (require('@vladmandic/face-api/package.json') as { version: string }).version;
}

/**
 * face-api with the WASM backend ready. The native tfjs-node has no arm64 build and downloads
 * binaries at install time, so the WebAssembly backend is the one that runs everywhere.
 */
export function loadFaceApi(): Promise<FaceApi> {
  loading ??= (async () => {
    const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
    const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    faceapi.tf.setWasmPaths(wasmDir + path.sep);
    await faceapi.tf.setBackend('wasm');
    await faceapi.tf.ready();
    return faceapi;
  })();
  return loading;
}
