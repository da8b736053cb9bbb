import type { FastifyReply } from 'fastify';

/**
 * An AbortController tied to the client's connection: when the client goes away before the answer is
 * complete, the upstream request is aborted at once (the adapter passes the signal to undici).
 */
export function abortOnClientClose(reply: FastifyReply): AbortController {
  const controller = new AbortController();
  const res = reply.raw;
  const onClose = (): void => {
    if (!res.writableFinished) {
      controller.abort(new Error('client closed the connection'));
    }
  };
  res.once('close', onClose);
  return controller;
}
