/**
 * Which task action a Midjourney button starts, from its `custom_id` (SPEC §4, reference §4.3).
 *
 * The forms are an explicit table of whole-string patterns, most specific first. Nothing is
 * decided by a prefix: `MJ::JOB::upsample_v6_2x_subtle::1::<hash>::SOLO` is its own form, not a
 * kind of `MJ::JOB::upsample`. A custom_id that fits no row is not ours to press (null).
 */
import type { Action } from './actions.ts';

/** How the action is carried out after the click. */
export type CustomIdStep = 'click' | 'modal' | 'iframe';

/** What a custom_id means. */
export interface CustomIdInfo {
  action: Action;
  /** Image 1–4 of the grid; 1 for single-image buttons; 0 for reroll and cancel. */
  index: number;
  /** The Midjourney job id in the custom_id, when it carries one. */
  hash: string | null;
  /** `modal`: Midjourney answers with a form; `iframe`: with the inpaint editor. */
  step: CustomIdStep;
  /** For `modal`: the form Midjourney opens and its text field. */
  modal?: { customIdPrefix: string; fieldCustomId: string };
}

/** One row of the table. `pattern` names its groups `index` and `hash` when present. */
export interface CustomIdForm {
  /** The form as the reference writes it. */
  form: string;
  pattern: RegExp;
  action: Action;
  step: CustomIdStep;
  /** Index for forms that carry none. */
  fixedIndex?: number;
  modal?: { customIdPrefix: string; fieldCustomId: string };
}

const HASH = '(?<hash>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})';
const SOLO = '(?:::SOLO)?';

function job(kind: string, action: Action, index = '[1-4]'): CustomIdForm {
  return {
    form: `MJ::JOB::${kind}::<${index === '0' ? '0' : 'n'}>::<hash>::SOLO`,
    pattern: new RegExp(`^MJ::JOB::${kind}::(?<index>${index})::${HASH}${SOLO}$`),
    action,
    step: 'click',
  };
}

function outpaint(amount: '50' | '75' | '100', action: Action): CustomIdForm {
  return {
    form: `MJ::Outpaint::${amount}::<n>::<hash>::SOLO`,
    pattern: new RegExp(`^MJ::Outpaint::${amount}::(?<index>[1-4])::${HASH}${SOLO}$`),
    action,
    step: 'click',
  };
}

/** Every custom_id form the bridge can press, most specific first. */
export const CUSTOM_ID_FORMS: readonly CustomIdForm[] = [
  // Video (2025+): the extend and pick forms come before the plain animate ones they resemble.
  job('animate_high_extend', 'VIDEO_EXTEND'),
  job('animate_low_extend', 'VIDEO_EXTEND'),
  job('video_virtual_upscale', 'VIDEO_UPSCALE'),
  job('animate_high', 'VIDEO'),
  job('animate_low', 'VIDEO'),
  job('upsample_v7_2x_subtle', 'UPSCALE_V6_2X_SUBTLE'),
  job('upsample_v7_2x_creative', 'UPSCALE_V6_2X_CREATIVE'),
  job('upsample_v6r1_2x_subtle', 'UPSCALE_V6_2X_SUBTLE'),
  job('upsample_v6r1_2x_creative', 'UPSCALE_V6_2X_CREATIVE'),
  job('upsample_v6_2x_subtle', 'UPSCALE_V6_2X_SUBTLE'),
  job('upsample_v6_2x_creative', 'UPSCALE_V6_2X_CREATIVE'),
  job('upsample_v5_2x', 'UPSCALE_V5_2X'),
  job('upsample_v5_4x', 'UPSCALE_V5_4X'),
  job('upsample', 'UPSCALE'),
  job('high_variation', 'VARIATION_STRONG'),
  job('low_variation', 'VARIATION_SUBTLE'),
  job('variation', 'VARIATION'),
  job('reroll', 'REROLL', '0'),
  job('pan_left', 'PANLEFT'),
  job('pan_right', 'PANRIGHT'),
  job('pan_up', 'PANUP'),
  job('pan_down', 'PANDOWN'),
  outpaint('100', 'MAKE_SQUARE'),
  outpaint('75', 'ZOOMOUT'),
  outpaint('50', 'ZOOMOUT'),
  {
    form: 'MJ::Inpaint::<n>::<hash>::SOLO',
    pattern: new RegExp(`^MJ::Inpaint::(?<index>[1-4])::${HASH}${SOLO}$`),
    action: 'VARIATION_REGION',
    step: 'iframe',
  },
  {
    form: 'MJ::CustomZoom::<hash>',
    pattern: new RegExp(`^MJ::CustomZoom::${HASH}$`),
    action: 'ZOOMOUT_CUSTOM',
    step: 'modal',
    fixedIndex: 1,
    modal: {
      customIdPrefix: 'MJ::OutpaintCustomZoomModal::',
      fieldCustomId: 'MJ::OutpaintCustomZoomModal::prompt',
    },
  },
  {
    form: 'MJ::Job::PicReader::<1-4>',
    pattern: /^MJ::Job::PicReader::(?<index>[1-4])$/,
    action: 'PIC_READER',
    step: 'modal',
    modal: { customIdPrefix: 'MJ::Picreader::Modal::', fieldCustomId: 'MJ::Picreader::Modal::PromptField' },
  },
  {
    form: 'MJ::Job::PicReader::all',
    pattern: /^MJ::Job::PicReader::all$/,
    action: 'PIC_READER',
    step: 'click',
    fixedIndex: 0,
  },
  {
    form: 'MJ::Picread::Retry',
    pattern: /^MJ::Picread::Retry$/,
    action: 'DESCRIBE',
    step: 'click',
    fixedIndex: 0,
  },
  {
    form: 'MJ::Job::PromptAnalyzer::<1-5>',
    pattern: /^MJ::Job::PromptAnalyzer::(?<index>[1-5])$/,
    action: 'IMAGINE',
    step: 'modal',
    modal: { customIdPrefix: 'MJ::ImagineModal::', fieldCustomId: 'MJ::ImagineModal::new_prompt' },
  },
  {
    // The remix form of Animate, as compat clients name it; it is answered, never clicked.
    form: 'MJ::AnimateModal::<hash>::<n>::<low|high>::<0|1>',
    pattern: new RegExp(`^MJ::AnimateModal::${HASH}::(?<index>[1-4])::(?:low|high)::[01]$`),
    action: 'VIDEO',
    step: 'modal',
    modal: { customIdPrefix: 'MJ::AnimateModal::', fieldCustomId: 'MJ::AnimateModal::prompt' },
  },
  {
    form: 'MJ::CancelJob::ByJobid::<hash>',
    pattern: new RegExp(`^MJ::CancelJob::ByJobid::${HASH}$`),
    action: 'CANCEL_JOB',
    step: 'click',
    fixedIndex: 0,
  },
];

/** The meaning of a Midjourney button's custom_id, or null when the bridge cannot press it. */
export function parseCustomId(customId: string): CustomIdInfo | null {
  for (const row of CUSTOM_ID_FORMS) {
    const m = row.pattern.exec(customId);
    if (!m) continue;
    const g = m.groups ?? {};
    const info: CustomIdInfo = {
      action: row.action,
      index: g.index !== undefined ? Number(g.index) : (row.fixedIndex ?? 0),
      hash: g.hash ?? null,
      step: row.step,
    };
    if (row.modal) info.modal = { ...row.modal };
    return info;
  }
  return null;
}

/** True for the buttons a task action can be started from. */
export function isActionableButton(customId: string): boolean {
  return parseCustomId(customId) !== null;
}

/**
 * Actions whose click Midjourney answers with a form when the account has remix mode on
 * (SPEC §4, §14); without remix the same click starts the job at once.
 */
export const REMIXABLE_ACTIONS: ReadonlySet<Action> = new Set<Action>([
  'VARIATION',
  'VARIATION_STRONG',
  'VARIATION_SUBTLE',
  'REROLL',
  'PANLEFT',
  'PANRIGHT',
  'PANUP',
  'PANDOWN',
  'VIDEO',
]);

/** What a form Midjourney opened is, from its `custom_id` (reference §4.3, "Modals"). */
export interface ModalInfo {
  kind: 'remix' | 'pan' | 'imagine' | 'animate' | 'zoom' | 'picreader';
  /** The job the form is about, when its custom_id names one. */
  hash: string | null;
  /** The text field to fill with the prompt. */
  fieldCustomId: string;
}

const MODAL_FORMS: readonly { pattern: RegExp; kind: ModalInfo['kind']; field: string }[] = [
  {
    pattern: new RegExp(`^MJ::RemixModal::${HASH}::[1-4]::[01]$`),
    kind: 'remix',
    field: 'MJ::RemixModal::new_prompt',
  },
  {
    pattern: new RegExp(`^MJ::PanModal::(?:left|right|up|down)::${HASH}::[1-4]$`),
    kind: 'pan',
    field: 'MJ::PanModal::prompt',
  },
  { pattern: /^MJ::ImagineModal::\d+$/, kind: 'imagine', field: 'MJ::ImagineModal::new_prompt' },
  {
    pattern: new RegExp(`^MJ::AnimateModal::${HASH}::[1-4]::(?:low|high)::[01]$`),
    kind: 'animate',
    field: 'MJ::AnimateModal::prompt',
  },
  {
    pattern: new RegExp(`^MJ::OutpaintCustomZoomModal::${HASH}$`),
    kind: 'zoom',
    field: 'MJ::OutpaintCustomZoomModal::prompt',
  },
  { pattern: /^MJ::Picreader::Modal::[1-4]$/, kind: 'picreader', field: 'MJ::Picreader::Modal::PromptField' },
];

/** The meaning of a modal's `custom_id`, or null for a form the bridge does not know. */
export function parseModalCustomId(customId: string): ModalInfo | null {
  for (const row of MODAL_FORMS) {
    const m = row.pattern.exec(customId);
    if (m) return { kind: row.kind, hash: m.groups?.hash ?? null, fieldCustomId: row.field };
  }
  return null;
}

/** True for the moderation notice's `Acknowledge` button (SPEC §14), by label or custom_id. */
export function isAcknowledgeButton(button: {
  label?: string | undefined;
  custom_id?: string | undefined;
}): boolean {
  return (
    /^acknowledge$/i.test(button.label?.trim() ?? '') || /::Acknowledge(?:::|$)/.test(button.custom_id ?? '')
  );
}
