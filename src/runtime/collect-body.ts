import { PalisadeError } from '../kernel/index.js';

/**
 * Copies a streamed body into one buffer. With an announced length the caller has already
 * checked it against its limit (a stream that delivers more than it announced is the worker's
 * fault and is refused where its chunks arrive, `PulledBody.deliver`). Without one (a redacted
 * stream, whose length changes on the way) chunks are gathered up to `maxBytes`, and more is
 * refused with `PAL_RUNTIME_RESPONSE_TOO_LARGE`.
 *
 * @example
 * ```ts
 * const bytes = await collectBody(stream, 1 << 20);
 * ```
 */
export async function collectBody(body: AsyncIterable<Uint8Array> & { readonly byteLength: number | undefined; cancel?(): void }, maxBytes = Number.MAX_SAFE_INTEGER): Promise<Uint8Array> {
  if (body.byteLength !== undefined) {
    const out = new Uint8Array(body.byteLength);
    let at = 0;
    for await (const chunk of body) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    return out;
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      body.cancel?.();
      throw new PalisadeError('PAL_RUNTIME_RESPONSE_TOO_LARGE', 'the function response is too large', { expose: true });
    }
    parts.push(Uint8Array.from(chunk));
  }
  return Buffer.concat(parts, total);
}
