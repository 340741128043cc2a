interface Env {
  readonly GREETING: string;
  readonly FEATURES: { readonly currency: string; readonly freeShippingOver: number };
}

export default {
  async fetch(request: Request, env: Env, ctx: { readonly requestId: string }): Promise<Response> {
    console.log('greeting a visitor');
    return Response.json({
      message: env.GREETING,
      currency: env.FEATURES.currency,
      freeShippingOver: env.FEATURES.freeShippingOver,
      requestId: ctx.requestId,
      try: ['/api/products', '/api/products/p-200', '/api/orders (private)'],
    });
  },
};
