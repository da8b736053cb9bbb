import { LoopResponsiveness } from './loop-responsiveness';

describe('LoopResponsiveness', () => {
  it('is 1 without history and when every expected tick ran', () => {
    const loop = new LoopResponsiveness(20);
    expect(loop.share(500, 0)).toBe(1); // starts the clock at 0
    for (let t = 20; t <= 1000; t += 20) {
      loop.tick(t);
    }
    expect(loop.share(500, 1000)).toBeCloseTo(1, 1);
    loop.stop();
  });

  it('falls when the loop was saturated: ticks came late and few', () => {
    const loop = new LoopResponsiveness(20);
    loop.start(0);
    for (let t = 20; t <= 1000; t += 20) {
      loop.tick(t);
    }
    for (let t = 1100; t <= 1500; t += 100) {
      loop.tick(t); // a busy loop: one tick per 100 ms instead of five
    }
    expect(loop.share(500, 1500)).toBeLessThan(0.3);
    loop.stop();
  });

  it('runs its own timer once asked', async () => {
    const loop = new LoopResponsiveness(10);
    loop.share(100);
    await new Promise((r) => setTimeout(r, 150));
    expect(loop.share(100)).toBeGreaterThan(0.5);
    const busyUntil = performance.now() + 120;
    while (performance.now() < busyUntil) {
      // block the loop: no tick can run
    }
    expect(loop.share(100)).toBeLessThan(0.3);
    loop.stop();
  });
});

describe('LoopResponsiveness, young', () => {
  it('judges a young process by the time since it started', () => {
    const loop = new LoopResponsiveness(20);
    loop.start(0);
    loop.tick(20);
    loop.tick(40);
    // 500 ms of window asked, 450 ms of life, 2 ticks of the 22 expected: the loop was blocked
    expect(loop.share(500, 450)).toBeLessThan(0.2);
    loop.stop();
  });
});
