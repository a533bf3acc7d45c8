// A baseline JPEG encoder for small images (face thumbnails): no image library to load for a 64 px face.

/** Zigzag position → index in the 8×8 block, row by row: the anti-diagonals walked alternately. */
const ZIGZAG: number[] = (() => {
  const order: number[] = [];
  for (let d = 0; d < 15; d++) {
    const cells: number[] = [];
    for (let row = Math.max(0, d - 7); row <= Math.min(7, d); row++) cells.push(row * 8 + (d - row));
    // Even diagonals run up and to the right (row falling), odd ones down and to the left.
    order.push(...(d % 2 === 0 ? cells.reverse() : cells));
  }
  return order;
})();

/** The example quantisation tables of ITU-T T.81 Annex K.1 (luminance, chrominance), row by row, for quality 50. */
const LUMA_Q = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103,
  77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_Q = [
  17,
  18,
  24,
  47,
  99,
  99,
  99,
  99,
  18,
  21,
  26,
  66,
  99,
  99,
  99,
  99,
  24,
  26,
  56,
  99,
  99,
  99,
  99,
  99,
  47,
  66,
  99,
  99,
  99,
  99,
  99,
  99,
  ...new Array<number>(32).fill(99),
];

/**
 * The typical Huffman tables of Annex K.3 for luminance, used for all three components: codes per
 * length 1–16, then the symbols in code order. Any table is a valid JPEG as long as it is the one
 * written in the DHT segment; these make the usual symbols short.
 */
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
// prettier-ignore
const AC_VALUES = [
  0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
  0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
  0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
  0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
  0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
  0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
  0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
  0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
  0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
  0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
  0xf9, 0xfa,
];

/** Huffman code and length per symbol, assigned canonically from a table's counts per length (T.81 Annex C). */
function huffmanCodes(bits: number[], values: number[]): { code: number; length: number }[] {
  const codes: { code: number; length: number }[] = [];
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    for (let i = 0; i < bits[length - 1]!; i++) codes[values[k++]!] = { code: code++, length };
    code <<= 1;
  }
  return codes;
}

const DC_CODES = huffmanCodes(DC_BITS, DC_VALUES);
const AC_CODES = huffmanCodes(AC_BITS, AC_VALUES);

/** cos((2x + 1)uπ/16) × C(u) / 2 for the separable DCT-II, [u * 8 + x]. */
const DCT = Array.from({ length: 64 }, (_, i) => {
  const u = Math.floor(i / 8);
  const x = i % 8;
  return ((u === 0 ? Math.SQRT1_2 : 1) / 2) * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
});

/** The IJG scaling of a quantisation table to `quality` (1–100), in zigzag order as DQT stores it. */
function scaledTable(base: number[], quality: number): number[] {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? 5000 / q : 200 - 2 * q;
  return ZIGZAG.map((i) => Math.min(255, Math.max(1, Math.floor((base[i]! * scale + 50) / 100))));
}

/** Writes bits most significant first, with a 0 stuffed after every 0xFF byte of entropy-coded data. */
class BitWriter {
  readonly bytes: number[] = [];
  private buffer = 0;
  private count = 0;

  write(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.buffer = (this.buffer << 1) | ((value >> i) & 1);
      if (++this.count === 8) this.flushByte();
    }
  }

  /** Pads the last byte with 1 bits. */
  finish(): void {
    if (this.count > 0) this.write(0xff, 8 - this.count);
  }

  private flushByte(): void {
    this.bytes.push(this.buffer);
    if (this.buffer === 0xff) this.bytes.push(0);
    this.buffer = 0;
    this.count = 0;
  }
}

/** The magnitude category of a coefficient (bits of |v|) and its bits as JPEG writes them (negatives as v − 1). */
function category(v: number): { size: number; bits: number } {
  const a = Math.abs(v);
  const size = a === 0 ? 0 : 32 - Math.clz32(a);
  return { size, bits: v < 0 ? v + (1 << size) - 1 : v };
}

/**
 * Packed RGB (`width`×`height`, 3 bytes a pixel) as a baseline JPEG: YCbCr at full resolution (4:4:4),
 * the Annex K tables scaled to `quality` as libjpeg scales them. For thumbnails: a 64 px face takes
 * about a millisecond.
 */
export function smallJpeg(data: Uint8Array, width: number, height: number, quality = 80): Buffer {
  const tables = [scaledTable(LUMA_Q, quality), scaledTable(CHROMA_Q, quality)];
  // The three components, level-shifted, once for the whole image.
  const planes = [0, 1, 2].map(() => new Float32Array(width * height));
  for (let i = 0, o = 0; i < width * height; i++, o += 3) {
    const r = data[o]!;
    const g = data[o + 1]!;
    const b = data[o + 2]!;
    planes[0]![i] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
    planes[1]![i] = -0.168736 * r - 0.331264 * g + 0.5 * b;
    planes[2]![i] = 0.5 * r - 0.418688 * g - 0.081312 * b;
  }
  const out = new BitWriter();
  const previousDc = [0, 0, 0];
  const block = new Float64Array(64);
  const rows = new Float64Array(64);
  const zigzag = new Int32Array(64);
  for (let by = 0; by < height; by += 8) {
    for (let bx = 0; bx < width; bx += 8) {
      for (let c = 0; c < 3; c++) {
        // The component's samples, edge pixels repeated past the image.
        const plane = planes[c]!;
        for (let y = 0; y < 8; y++) {
          const row = Math.min(height - 1, by + y) * width;
          for (let x = 0; x < 8; x++) block[y * 8 + x] = plane[row + Math.min(width - 1, bx + x)]!;
        }
        // DCT-II along the rows, then the columns.
        for (let y = 0; y < 8; y++) {
          for (let u = 0; u < 8; u++) {
            let s = 0;
            for (let x = 0; x < 8; x++) s += DCT[u * 8 + x]! * block[y * 8 + x]!;
            rows[y * 8 + u] = s;
          }
        }
        const table = tables[c === 0 ? 0 : 1]!;
        for (let k = 0; k < 64; k++) {
          const v = Math.floor(ZIGZAG[k]! / 8);
          const u = ZIGZAG[k]! % 8;
          let s = 0;
          for (let y = 0; y < 8; y++) s += DCT[v * 8 + y]! * rows[y * 8 + u]!;
          zigzag[k] = Math.round(s / table[k]!);
        }
        // DC as the difference from the component's last block, then the AC run lengths.
        const dc = category(zigzag[0]! - previousDc[c]!);
        previousDc[c] = zigzag[0]!;
        out.write(DC_CODES[dc.size]!.code, DC_CODES[dc.size]!.length);
        if (dc.size > 0) out.write(dc.bits, dc.size);
        let run = 0;
        for (let k = 1; k < 64; k++) {
          if (zigzag[k] === 0) {
            run++;
            continue;
          }
          for (; run > 15; run -= 16) out.write(AC_CODES[0xf0]!.code, AC_CODES[0xf0]!.length);
          const ac = category(zigzag[k]!);
          const symbol = AC_CODES[(run << 4) | ac.size]!;
          out.write(symbol.code, symbol.length);
          out.write(ac.bits, ac.size);
          run = 0;
        }
        if (run > 0) out.write(AC_CODES[0]!.code, AC_CODES[0]!.length);
      }
    }
  }
  out.finish();
  const segment = (marker: number, body: number[]) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  const header = [
    0xff,
    0xd8,
    ...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]),
    ...segment(0xdb, [0, ...tables[0]!, 1, ...tables[1]!]),
    ...segment(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]),
    ...segment(0xc4, [0x00, ...DC_BITS, ...DC_VALUES, 0x10, ...AC_BITS, ...AC_VALUES]),
    ...segment(0xda, [3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]),
  ];
  return Buffer.from([...header, ...out.bytes, 0xff, 0xd9]);
}

/** The AC table's symbols, which must be EOB, ZRL and every run (0–15) with every size (1–10), each once: for the tests. */
export const AC_HUFFMAN_SYMBOLS: readonly number[] = AC_VALUES;
