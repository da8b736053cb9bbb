import { block, checkPhase, socketPair } from '../../test/support/loop-stall';
import { withTimeout } from './with-timeout';

describe('withTimeout', () => {
  it('rejects when the promise does not settle in time, naming what timed out', async () => {
    await expect(withTimeout(new Promise(() => undefined), 20, 'the thing')).rejects.toThrow(
      'the thing timed out after 20 ms',
    );
  });

  it("a reply that arrived while this process's loop was blocked past the timeout wins over the timeout", async () => {
    const pair = await socketPair();
    try {
      const reply = new Promise<string>((resolve) => pair.client.once('data', (b) => resolve(String(b))));
      await checkPhase();
      const raced = withTimeout(reply, 30, 'the reply');
      pair.server.write('pong');
      block(80);
      await expect(raced).resolves.toBe('pong');
    } finally {
      pair.close();
    }
  });
});
