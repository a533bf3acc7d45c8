// The CPU `bench` measured on: its model, cores, and the vector extensions onnxruntime's kernels depend on.
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  cpu: string;
  arch: string;
  cores: number;
  /** The extensions below that the CPU reports. */
  vector: string[];
  /** Those it lacks. */
  without: string[];
}

/**
 * What decides the networks' speed more than the clock: the float kernels' width (AVX2 and FMA,
 * AVX-512; NEON) and the int8 ones' dot products (VNNI on x86: the int8 SSD's gain over float was up
 * to 2.7× on the AVX-512 machines with VNNI, 1.58× with AVX2 alone; asimddp and i8mm on Arm: a Pi 5's
 * Cortex-A76 has asimddp, a Pi 4's A72 neither). Names as Linux's /proc/cpuinfo spells them.
 */
const VECTOR: Record<string, readonly string[]> = {
  x64: ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'amx_int8'],
  arm64: ['asimd', 'asimddp', 'i8mm', 'bf16', 'sve'],
};

/** The machine, from /proc/cpuinfo where there is one (Linux), else what Node.js knows. */
export function describeMachine(cpuinfo = readCpuinfo(), arch: string = process.arch, cores = os.availableParallelism()): Machine {
  const field = (name: string) =>
    cpuinfo
      .split('\n')
      .find((line) => line.split(':')[0]?.trim() === name)
      ?.split(':')
      .slice(1)
      .join(':')
      .trim();
  const flags = new Set((field('flags') ?? field('Features') ?? '').split(/\s+/).filter(Boolean));
  const known = VECTOR[arch] ?? [];
  const cpu = field('model name') ?? field('Model') ?? os.cpus()[0]?.model ?? 'unknown CPU';
  return { cpu, arch, cores, vector: known.filter((f) => flags.has(f)), without: flags.size ? known.filter((f) => !flags.has(f)) : [] };
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

export function formatMachine(m: Machine): string {
  const has = m.vector.length ? m.vector.join(' ') : 'none of the listed vector extensions';
  const lacks = m.without.length ? `; without ${m.without.join(' ')}` : '';
  return `machine: ${m.cpu}, ${m.arch}, ${m.cores} cores; ${has}${lacks}`;
}
