/**
 * Request bodies of the `/mj` API (SPEC §12.2), validated with zod. Unknown keys are ignored
 * (clients send extras such as `accountFilter`, `mode`, `chooseSameChannel`); a body that does not
 * fit answers code 4 with a description naming the field (`prompt is required`,
 * `base64Array[1] is not a data URL or http(s) URL`). Ids may be strings or numbers.
 */
import { z } from 'zod';
import { CODE, CompatError } from './envelope.ts';

const httpUrl = z
  .string()
  .max(4096)
  .regex(/^https?:\/\/[^\s/?#]+\S*$/i, 'is not a valid http(s) URL');
const dataUrl = z.string().regex(/^data:image\/[\w.+-]+;base64,[A-Za-z0-9+/=\s]+$/, 'is not a data URL');
const imageRef = z.union([dataUrl, httpUrl], { error: 'is not a data URL or http(s) URL' });

/** A task id as clients send it: digits as a string or a (safe integer) number. */
export const taskId = z
  .union([z.string().regex(/^\d{1,30}$/), z.number().int().nonnegative()], {
    error: 'must be a task id (digits, as a string or a number)',
  })
  .transform((v) => String(v));

const prompt = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
  .transform((s) => s.replace(/\s+/g, ' ').trim())
  .pipe(z.string().min(1, 'is required').max(8192, 'is longer than 8192 characters'));

const optionalPrompt = z
  .string({ error: 'must be a string' })
  .transform((s) => s.replace(/\s+/g, ' ').trim())
  .pipe(z.string().max(8192, 'is longer than 8192 characters'))
  .nullish();

/** `notifyHook` and `state`, common to every submit. An empty hook means none. */
const common = {
  notifyHook: z.union([z.literal(''), httpUrl]).nullish(),
  state: z.string({ error: 'must be a string' }).max(4096, 'is longer than 4096 characters').nullish(),
};

const botType = z.enum(['MID_JOURNEY', 'NIJI_JOURNEY'], { error: 'must be MID_JOURNEY or NIJI_JOURNEY' });

const images = (min: number, max: number) =>
  z
    .array(imageRef, { error: 'must be an array' })
    .min(min, min === max ? `must have exactly ${min} item` : `must have ${min} to ${max} items`)
    .max(max, min === 0 ? `must have at most ${max} items` : `must have ${min} to ${max} items`);

export const imagineSchema = z.looseObject({
  prompt,
  base64Array: images(0, 5).nullish(),
  botType: botType.nullish(),
  ...common,
});

export const actionSchema = z.looseObject({
  taskId,
  customId: z
    .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
    .min(1, 'is required')
    .max(200, 'is longer than 200 characters'),
  ...common,
});

export const modalSchema = z.looseObject({
  taskId,
  prompt: optionalPrompt,
  maskBase64: z
    .string({ error: 'must be a string' })
    .regex(/^(data:image\/[\w.+-]+;base64,)?[A-Za-z0-9+/=\s]*$/, 'is not a base64 PNG')
    .nullish(),
});

export const describeSchema = z
  .looseObject({ base64: dataUrl.nullish(), link: httpUrl.nullish(), ...common })
  .refine((b) => b.base64 || b.link, { message: 'is required (or link)', path: ['base64'] });

export const blendSchema = z.looseObject({
  base64Array: images(2, 5),
  dimensions: z
    .enum(['PORTRAIT', 'SQUARE', 'LANDSCAPE'], { error: 'must be one of PORTRAIT, SQUARE, LANDSCAPE' })
    .nullish(),
  ...common,
});

export const shortenSchema = z.looseObject({ prompt, botType: botType.nullish(), ...common });

export const changeSchema = z.looseObject({
  taskId,
  action: z.enum(['UPSCALE', 'VARIATION', 'REROLL'], { error: 'must be one of UPSCALE, VARIATION, REROLL' }),
  index: z.coerce.number({ error: 'must be a number from 1 to 4' }).int().min(1).max(4).nullish(),
  ...common,
});

export const simpleChangeSchema = z.looseObject({
  content: z
    .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
    .regex(/^\s*\d{1,30}\s+(?:[UV][1-4]|R)\s*$/i, 'must be "<taskId> U1..U4|V1..V4|R"'),
  ...common,
});

export const videoSchema = z.looseObject({
  prompt: optionalPrompt,
  image: imageRef.nullish(),
  base64: dataUrl.nullish(),
  motion: z.enum(['low', 'high'], { error: 'must be low or high' }).nullish(),
  endImage: imageRef.nullish(),
  loop: z.boolean({ error: 'must be true or false' }).nullish(),
  batchSize: z.union([z.literal(1), z.literal(2), z.literal(4)], { error: 'must be 1, 2 or 4' }).nullish(),
  action: z.enum(['extend'], { error: 'must be extend' }).nullish(),
  taskId: taskId.nullish(),
  index: z.coerce.number({ error: 'must be a number from 0 to 3' }).int().min(0).max(4).nullish(),
  ...common,
});

export const uploadSchema = z.looseObject({ base64Array: images(1, 5) });

/** The body must be a JSON object; the first problem becomes code 4 naming its field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new CompatError(CODE.INVALID, 'body must be a JSON object');
  }
  const out = schema.safeParse(body);
  if (out.success) return out.data;
  const issue = out.error.issues[0];
  const field = (issue?.path ?? [])
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
  throw new CompatError(CODE.INVALID, `${field || 'body'} ${issue?.message ?? 'is invalid'}`);
}
