import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/ingest/line-splitter.ts';

function collector(max: number) {
  const lines: string[] = [];
  const tooLong: number[] = [];
  const s = new LineSplitter(
    {
      line: (b, st, e) => lines.push(b.toString('utf8', st, e)),
      tooLong: (n) => tooLong.push(n),
    },
    max,
  );
  return { s, lines, tooLong };
}

describe('LineSplitter', () => {
  const text = 'alpha\nbeta\n\ngamma delta\nepsilon';

  it('gives the same lines for every split of the input into two chunks', () => {
    const data = Buffer.from(text);
    for (let cut = 0; cut <= data.length; cut++) {
      const { s, lines } = collector(100);
      s.push(data.subarray(0, cut));
      s.push(data.subarray(cut));
      expect(lines).toEqual(['alpha', 'beta', '', 'gamma delta']);
      expect(s.pendingBytes).toBe('epsilon'.length);
      s.flush();
      expect(lines.at(-1)).toBe('epsilon');
    }
  });

  it('gives the same lines when fed one byte at a time', () => {
    const { s, lines } = collector(100);
    for (const byte of Buffer.from(text)) s.push(Buffer.from([byte]));
    expect(lines).toEqual(['alpha', 'beta', '', 'gamma delta']);
  });

  it('skips an over-long line up to its newline, in one chunk or across chunks, and goes on', () => {
    for (const chunk of [1, 3, 7, 1000]) {
      const { s, lines, tooLong } = collector(8);
      const data = Buffer.from('short\n0123456789abcdef\nok\n012345678\nlast\n');
      for (let i = 0; i < data.length; i += chunk) s.push(data.subarray(i, i + chunk));
      expect(lines).toEqual(['short', 'ok', 'last']);
      expect(tooLong).toHaveLength(2);
      expect(tooLong[0]).toBeGreaterThanOrEqual(9);
    }
  });

  it('keeps memory bounded for a 50 MB line without a newline, then resumes', () => {
    const { s, lines, tooLong } = collector(1 << 20);
    const chunk = Buffer.alloc(1 << 20, 0x41);
    const before = process.memoryUsage();
    for (let i = 0; i < 50; i++) s.push(chunk);
    const after = process.memoryUsage();
    expect(s.isDiscarding).toBe(true);
    expect(s.pendingBytes).toBe(0);
    expect(after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers).toBeLessThan(8 << 20);
    s.push(Buffer.from('tail\n{"next":1}\n'));
    expect(tooLong).toEqual([50 * (1 << 20) + 4]);
    expect(lines).toEqual(['{"next":1}']);
  });

  it('discard drops a held partial and reports its size', () => {
    const { s, lines } = collector(100);
    s.push(Buffer.from('one\npart'));
    expect(s.heldBytes).toBe(4);
    expect(s.discard()).toBe(4);
    s.push(Buffer.from('two\n'));
    expect(lines).toEqual(['one', 'two']);
  });
});
