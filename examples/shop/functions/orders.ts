import { nanoid } from 'nanoid';

interface OrderLine {
  readonly productId: string;
  readonly quantity: number;
}

function isOrderLines(value: unknown): value is OrderLine[] {
  return Array.isArray(value) && value.length > 0 && value.length <= 20 && value.every(
    (l) => typeof l === 'object' && l !== null && typeof (l as OrderLine).productId === 'string' && Number.isInteger((l as OrderLine).quantity) && (l as OrderLine).quantity > 0,
  );
}

export default {
  async fetch(request: Request): Promise<Response> {
    const parts = new URL(request.url).pathname.split('/');
    // POST /api/orders/:id/refund (admins with a second factor: the gateway's policies decide).
    if (request.method === 'POST' && parts[4] === 'refund') return Response.json({ id: parts[3], status: 'refunded' });
    if (request.method === 'GET') {
      const id = new URL(request.url).pathname.split('/')[3];
      return Response.json(id === undefined ? { orders: [] } : { id, status: 'unknown' }, { status: id === undefined ? 200 : 404 });
    }
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return Response.json({ error: 'body must be JSON' }, { status: 400 });
    }
    const lines = (body as { lines?: unknown }).lines;
    if (!isOrderLines(lines)) return Response.json({ error: 'lines must be 1-20 items of { productId, quantity }' }, { status: 422 });
    return Response.json({ id: `ord_${nanoid(12)}`, lines, status: 'accepted' }, { status: 201 });
  },
};
