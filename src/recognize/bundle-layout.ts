// The layout of a model bundle in one place: the names of its files and what a version may be called.
import path from 'node:path';

/** The manifest. Written last (train, enrolment, S3 downloads, copies), so its presence marks a complete bundle. */
export const MANIFEST_FILE = 'manifest.json';
/** The classification head's ONNX graph, as training and enrolment on the device write it. */
export const HEAD_GRAPH_FILE = 'head.onnx';
/** The class means of a cosine nearest-class-mean head: what enrolment on the device edits. */
export const CENTROIDS_FILE = 'centroids.json';
/** Training's metrics and its report with plots, beside the graph (left out of a --compact bundle). */
export const METRICS_FILE = 'metrics.json';
export const REPORT_FILE = 'report.html';

/**
 * What a version may be called, as the manifest's schema states it: a version names a folder of the
 * store and a prefix in S3, so it holds no separator and no character a shell or a URL would mangle.
 */
export const VERSION_PATTERN = '^[A-Za-z0-9._-]+$';
const VERSION = new RegExp(VERSION_PATTERN);

/** True when `version` is a string that may name a bundle's version. */
export function isVersionName(version: unknown): version is string {
  return typeof version === 'string' && VERSION.test(version);
}

/** The manifest of the bundle in `dir`. */
export function manifestPath(dir: string): string {
  return path.join(dir, MANIFEST_FILE);
}
