interface Product {
  readonly id: string;
  readonly name: string;
  readonly priceCents: number;
}

const products: readonly Product[] = [
  { id: 'p-100', name: 'Espresso beans, 1 kg', priceCents: 2490 },
  { id: 'p-200', name: 'Hand grinder', priceCents: 8900 },
  { id: 'p-300', name: 'Milk jug', priceCents: 1450 },
];

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const id = url.pathname.split('/')[3];
    if (id === undefined) {
      const max = Number(url.searchParams.get('maxPriceCents') ?? Infinity);
      return Response.json({ products: products.filter((p) => p.priceCents <= max) });
    }
    const product = products.find((p) => p.id === id);
    if (product === undefined) return Response.json({ error: 'no such product' }, { status: 404 });
    return Response.json(product);
  },
};
