import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { MAX_SIGNATURE_HEADER_LENGTH, parseSignatureHeader, signWebhook, verifyWebhook } from './webhook-signature';

const secret = 'whsec_test_0123456789abcdef';
const now = new Date('2026-12-02T12:00:00.000Z');
const body = '{"id":"5d1c1e0e-0000-4000-8000-000000000001","type":"alert.fired","accountId":"acme"}';

describe('Ledger-Signature', () => {
  it('is t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>', () => {
    const t = Math.floor(now.getTime() / 1000);
    // Computed independently of the library, from the scheme as documented.
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    expect(signWebhook(body, secret, now)).toBe(`t=${t},v1=${expected}`);
  });

  it('verifies what it signed, for any body and secret', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 500 }), fc.string({ minLength: 1, maxLength: 80 }), (anyBody, anySecret) => {
        const header = signWebhook(anyBody, anySecret, now);
        expect(verifyWebhook({ body: anyBody, header, secrets: anySecret, now })).toEqual({
          ok: true,
          timestamp: Math.floor(now.getTime() / 1000),
        });
      }),
    );
  });

  it('refuses a tampered body, byte by byte', () => {
    const header = signWebhook(body, secret, now);
    fc.assert(
      fc.property(fc.nat(body.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const bytes = Buffer.from(body);
        bytes[at] = bytes[at]! ^ flip;
        expect(verifyWebhook({ body: bytes, header, secrets: secret, now })).toEqual({
          ok: false,
          problem: 'signature_mismatch',
        });
      }),
    );
  });

  it('refuses a wrong secret, and takes any of several (rotation on either side)', () => {
    const header = signWebhook(body, secret, now);
    expect(verifyWebhook({ body, header, secrets: 'another-secret', now })).toMatchObject({
      problem: 'signature_mismatch',
    });
    expect(verifyWebhook({ body, header, secrets: ['another-secret', secret], now }).ok).toBe(true);
    const rotating = signWebhook(body, ['old-secret', 'new-secret'], now);
    expect(verifyWebhook({ body, header: rotating, secrets: 'new-secret', now }).ok).toBe(true);
    expect(verifyWebhook({ body, header: rotating, secrets: 'old-secret', now }).ok).toBe(true);
    expect(verifyWebhook({ body, header: rotating, secrets: secret, now }).ok).toBe(false);
  });

  it('refuses a timestamp outside the tolerance window, either way', () => {
    const header = signWebhook(body, secret, now);
    const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);
    expect(verifyWebhook({ body, header, secrets: secret, now: at(300) }).ok).toBe(true);
    expect(verifyWebhook({ body, header, secrets: secret, now: at(-300) }).ok).toBe(true);
    expect(verifyWebhook({ body, header, secrets: secret, now: at(301) })).toMatchObject({
      problem: 'timestamp_outside_tolerance',
    });
    expect(verifyWebhook({ body, header, secrets: secret, now: at(-301) })).toMatchObject({
      problem: 'timestamp_outside_tolerance',
    });
    expect(verifyWebhook({ body, header, secrets: secret, now: at(20), toleranceSeconds: 10 }).ok).toBe(false);
  });

  it('refuses a signature made for another timestamp (the timestamp is signed)', () => {
    const header = signWebhook(body, secret, now);
    const moved = header.replace(/^t=(\d+)/, (_, t: string) => `t=${Number(t) + 1}`);
    expect(verifyWebhook({ body, header: moved, secrets: secret, now })).toMatchObject({
      problem: 'signature_mismatch',
    });
  });

  it.each([
    ['no header', undefined, 'header_missing'],
    ['an empty header', '', 'header_missing'],
    ['no timestamp', `v1=${'a'.repeat(64)}`, 'header_malformed'],
    ['no signature', 't=1796212800', 'header_malformed'],
    ['two timestamps', `t=1,t=2,v1=${'a'.repeat(64)}`, 'header_malformed'],
    ['a signature that is not hex SHA-256', 't=1796212800,v1=xyz', 'header_malformed'],
    ['upper-case hex', `t=1796212800,v1=${'A'.repeat(64)}`, 'header_malformed'],
    ['a timestamp that is not a number', `t=soon,v1=${'a'.repeat(64)}`, 'header_malformed'],
    ['a part without "="', `t=1796212800,v1=${'a'.repeat(64)},junk`, 'header_malformed'],
    ['control characters', `t=1796212800\u0000,v1=${'a'.repeat(64)}`, 'header_malformed'],
    [
      'a header longer than the bound',
      `t=1796212800,${'x=1,'.repeat(MAX_SIGNATURE_HEADER_LENGTH)}`,
      'header_malformed',
    ],
  ])('refuses %s', (_name, header, problem) => {
    expect(verifyWebhook({ body, header, secrets: secret, now })).toEqual({ ok: false, problem });
  });

  it('parses any string without throwing, and only well-formed ones succeed', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (header) => {
        const parsed = parseSignatureHeader(header);
        if (parsed) expect(parsed.signatures.every((s) => /^[0-9a-f]{64}$/.test(s))).toBe(true);
      }),
    );
  });

  it('skips schemes it does not know, so a receiver keeps verifying v1', () => {
    const header = `${signWebhook(body, secret, now)},v2=whatever`;
    expect(verifyWebhook({ body, header, secrets: secret, now }).ok).toBe(true);
  });
});
