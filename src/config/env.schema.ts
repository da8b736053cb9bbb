import { z } from 'zod';

/**
 * The environment variables that are part of Switchyard's interface, validated by @nestjs/config's
 * `validate` hook before anything reads them. Values here only need to be well-formed; the layered loader
 * decides what wins.
 */
const envSchema = z.looseObject({
  NODE_ENV: z.string().optional(),
  PORT: z.string().regex(/^\d+$/, 'PORT must be an integer').optional().or(z.literal('')),
  HOST: z.string().optional(),
  REDIS_URL: z
    .string()
    .regex(/^(rediss?|redis\+sentinel):\/\//, 'REDIS_URL must start with redis:// or rediss://')
    .optional()
    .or(z.literal('')),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .optional()
    .or(z.literal('')),
  SWITCHYARD_CONFIG: z.string().optional(),
  SWITCHYARD_API_KEY: z.string().optional(),
});

export function validateEnvironment(env: Record<string, unknown>): Record<string, unknown> {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `  - environment variable ${i.path.join('.')}: ${i.message}`,
    );
    throw new Error(`invalid environment:\n${lines.join('\n')}`);
  }
  return env;
}
