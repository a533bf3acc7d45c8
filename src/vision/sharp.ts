// sharp (libvips), loaded on first use: decoding a photo or drawing a snapshot needs it, a camera's frames do not.
import type Sharp from 'sharp';

let loading: Promise<typeof Sharp> | undefined;

/**
 * The sharp module. Loading it maps libvips and its libraries and starts glib: 28 MiB of RSS in a
 * bare process, and two cameras on the film scene took 275–279 against 280–293 MiB mean with it
 * loaded at start (docs/benchmarks.md). A daemon that only watches cameras never pays it. libvips'
 * operation cache (recent operations and their pixels, up to 50 MB) is off: a daemon decoding
 * untrusted uploads gains nothing from it and gives the memory back.
 */
export function loadSharp(): Promise<typeof Sharp> {
  loading ??= import('sharp').then((m) => {
    m.default.cache(false);
    return m.default;
  });
  return loading;
}
