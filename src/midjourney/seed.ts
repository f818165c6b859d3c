/**
 * The seed of a job (SPEC §14): reacting with ✉️ on a result makes Midjourney send the user a DM
 * naming the job and its seed (`**Job ID**: <hash>` … `**seed** <n>`).
 */

/** The envelope emoji the reaction uses, and its URL form for `PUT …/reactions/<emoji>/@me`. */
export const SEED_EMOJI = '✉️';

/** The seed and the job a DM names, or null when the text is not a seed DM. */
export function parseSeedDm(content: string): { seed: string; hash: string | null } | null {
  const seed = /\*\*seed\*\*:?\s*(\d{1,20})/i.exec(content);
  if (!seed?.[1]) return null;
  const hash = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/.exec(content);
  return { seed: seed[1], hash: hash ? hash[0].toLowerCase() : null };
}
