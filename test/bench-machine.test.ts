// bench names the machine its figures come from: the CPU, its cores, and the vector extensions that decide them.
import t from 'tap';
import { describeMachine, formatMachine } from '../src/cli/bench-machine.js';

const avx2 = `processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
flags\t\t: fpu vme sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 sha_ni vaes
`;
const vnni = `model name\t: Intel(R) Xeon(R) Platinum 8488C
flags\t\t: sse avx avx2 fma avx512f avx512_vnni avx512_bf16 amx_int8 avx_vnni
`;
// A Pi 5 (Cortex-A76) on 64-bit Raspberry Pi OS: no model name, the features under "Features".
const pi5 = `processor\t: 0
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU part\t: 0xd0b

Model\t\t: Raspberry Pi 5 Model B Rev 1.0
`;

t.test('the vector extensions a CPU has and lacks, by architecture', async (t) => {
  const amd = describeMachine(avx2, 'x64', 2);
  t.same(amd, { cpu: 'AMD EPYC', arch: 'x64', cores: 2, vector: ['avx2', 'fma'], without: ['avx512f', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'amx_int8'] });
  t.equal(formatMachine(amd), 'machine: AMD EPYC, x64, 2 cores; avx2 fma; without avx512f avx512_vnni avx_vnni avx512_bf16 amx_int8');
  const xeon = describeMachine(vnni, 'x64', 2);
  t.same(xeon.vector, ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'amx_int8']);
  t.same(xeon.without, []);
  const pi = describeMachine(pi5, 'arm64', 4);
  t.equal(pi.cpu, 'Raspberry Pi 5 Model B Rev 1.0', "a Pi's model line when it has no model name");
  t.same(pi.vector, ['asimd', 'asimddp']);
  t.same(pi.without, ['i8mm', 'bf16', 'sve']);
});

t.test('without /proc/cpuinfo (not Linux): the model Node.js knows, and no claim about what it lacks', async (t) => {
  const m = describeMachine('', 'x64', 8);
  t.ok(m.cpu.length > 0);
  t.same(m.vector, []);
  t.same(m.without, [], 'nothing said to be missing when nothing was read');
  t.match(formatMachine(m), /none of the listed vector extensions$/);
});

t.test('this machine', async (t) => {
  const m = describeMachine();
  t.equal(m.arch, process.arch);
  t.ok(m.cores >= 1);
  if (process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64')) t.ok(m.vector.length > 0, 'a 64-bit Linux CPU reports its SIMD');
});
