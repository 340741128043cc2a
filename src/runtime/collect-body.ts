/**
 * Copies a streamed body into one buffer of its announced length. The caller has already checked
 * that length against its limit; a stream that delivers more than it announced is the worker's
 * fault and is refused where its chunks arrive (`PulledBody.deliver`).
 *
 * @example
 * ```ts
 * const bytes = await collectBody(stream);
 * ```
 */
export async function collectBody(body: AsyncIterable<Uint8Array> & { readonly byteLength: number }): Promise<Uint8Array> {
  const out = new Uint8Array(body.byteLength);
  let at = 0;
  for await (const chunk of body) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
