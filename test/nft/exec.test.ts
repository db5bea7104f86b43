/**
 * The pure parts of src/nft/exec.ts: options with their defaults, the command line, and the
 * classification of nft's stderr into error codes (from messages nft 1.0.6 prints).
 */
import { describe, expect, it } from 'vitest';
import { classifyNftError, nftCommand, nftExecConfig, nftFailure } from '../../src/nft/exec.ts';
import { ErrorCodes } from '../../src/errors.ts';

describe('exec options', () => {
  it('fills in the defaults and refuses a namespace name that is not a plain name', () => {
    expect(nftExecConfig({ netns: 'nfs-1-2-gw', forbidHostNetns: true })).toEqual({
      netns: 'nfs-1-2-gw',
      nftPath: 'nft',
      timeoutMs: 30_000,
      forbidHostNetns: true,
    });
    expect(() => nftExecConfig({ netns: 'a b' })).toThrow(/invalid network namespace name/);
    expect(() => nftExecConfig({ timeoutMs: 0 })).toThrow(/timeout/);
  });

  it('runs nft directly, or through `ip netns exec`', () => {
    expect(nftCommand(nftExecConfig({ nftPath: '/usr/sbin/nft' }), ['-j', 'list', 'tables'])).toEqual([
      '/usr/sbin/nft',
      ['-j', 'list', 'tables'],
    ]);
    expect(nftCommand(nftExecConfig({ netns: 'gw' }), ['-i'])).toEqual(['ip', ['netns', 'exec', 'gw', 'nft', '-i']]);
    // A wrapper goes in front of nft, inside the namespace.
    expect(nftCommand(nftExecConfig({ netns: 'gw' }), ['monitor'], ['setpriv', '--pdeathsig', 'TERM'])).toEqual([
      'ip',
      ['netns', 'exec', 'gw', 'setpriv', '--pdeathsig', 'TERM', 'nft', 'monitor'],
    ]);
    expect(nftCommand(nftExecConfig(), ['monitor'], ['setpriv', '--pdeathsig', 'TERM'])).toEqual([
      'setpriv',
      ['--pdeathsig', 'TERM', 'nft', 'monitor'],
    ]);
  });
});

describe('nft failures, classified once', () => {
  it.each([
    ['Error: Could not process rule: No such file or directory', ErrorCodes.NFT_NOT_FOUND],
    ['Error: No such file or directory; did you mean set ‘ban4’ in table inet ‘nftsentry’?', ErrorCodes.NFT_NOT_FOUND],
    ['Error: element does not exist', ErrorCodes.NFT_NOT_FOUND],
    ['Error: Could not process rule: File exists', ErrorCodes.NFT_EXISTS],
    ['Error: Could not process rule: Device or resource busy', ErrorCodes.NFT_REJECTED],
    ['Error: Could not process rule: Invalid argument', ErrorCodes.NFT_REJECTED],
    ['Error: datatype mismatch, expected IPv4 address, expression has type IPv6 address', ErrorCodes.NFT_REJECTED],
    ['Error: syntax error, unexpected newline, expecting string', ErrorCodes.NFT_REJECTED],
    ['Error: Could not process rule: Operation not permitted', ErrorCodes.NFT_FAILED],
    ['Segmentation fault', ErrorCodes.NFT_FAILED],
  ])('%s -> %s', (stderr, code) => {
    expect(classifyNftError(stderr)).toBe(code);
  });

  it("the message is nft's first `Error:` line (a warning before it is skipped), else its first line", () => {
    const err = nftFailure(
      'warning: stmt ops map have no json callback\n/tmp/x.nft:2:6-6: Error: Could not process rule: File exists\n set s {}\n',
      'exit 1',
    );
    expect(err).toMatchObject({
      code: ErrorCodes.NFT_EXISTS,
      message: 'nft failed: /tmp/x.nft:2:6-6: Error: Could not process rule: File exists',
    });
    expect(nftFailure('\nsomething odd\n', 'exit 1').message).toBe('nft failed: something odd');
    expect(nftFailure('', 'exit code 1').message).toBe('nft failed: exit code 1');
  });
});
