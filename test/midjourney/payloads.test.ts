import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BLEND_DIMENSIONS,
  blendPayload,
  buttonPayload,
  commandsFromIndex,
  DEFAULT_COMMANDS,
  describePayload,
  imaginePayload,
  MIDJOURNEY_APP_ID,
  modalSubmitPayload,
  NIJI_APP_ID,
  NIJI_COMMANDS,
  type PayloadContext,
} from '../../src/midjourney/index.ts';
import { fixture, rawMessage } from './fixtures.ts';

const templates = fixture('payload-templates.json') as Record<string, unknown>;

/** The template with `$name` placeholders replaced: whole-string ones by the value itself. */
function fill(template: unknown, values: Record<string, string | number | null>): unknown {
  if (typeof template === 'string') {
    const whole = /^\$([a-z_0-9]+)$/.exec(template);
    if (whole?.[1] && whole[1] in values) return values[whole[1]];
    return template.replace(/\$([a-z_0-9]+)/g, (m, k: string) => (k in values ? String(values[k]) : m));
  }
  if (Array.isArray(template)) return template.map((v) => fill(v, values));
  if (typeof template === 'object' && template !== null) {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, fill(v, values)]));
  }
  return template;
}

const guild: PayloadContext = {
  guildId: '662267976984297473',
  channelId: '1008571020480876554',
  sessionId: '30f32c5d54ae86130fc4a215c7474263',
  nonce: '1265207228676178060',
};
const dm: PayloadContext = {
  channelId: '1069126859100524575',
  sessionId: '7687ebdc6846e1f686f02b14c4f150d1',
  nonce: '1083840138678632448',
};
const base = (ctx: PayloadContext) => ({
  guild_id: ctx.guildId ?? null,
  channel_id: ctx.channelId,
  session_id: ctx.sessionId,
  nonce: ctx.nonce,
});

describe('payload builders produce the §2.2 templates exactly', () => {
  for (const [where, ctx] of [
    ['guild', guild],
    ['DM', dm],
  ] as const) {
    test(`imagine (${where})`, () => {
      const prompt = '<https://cdn.discordapp.com/a.png> a red cat, "quoted" --ar 2:3';
      assert.deepEqual(
        imaginePayload(ctx, DEFAULT_COMMANDS.imagine, prompt),
        fill(templates.imagine, { ...base(ctx), prompt }),
      );
    });

    test(`describe (${where})`, () => {
      const upload = {
        filename: 'cat.png',
        uploaded_filename: '87e49c99-43f8-4a33-baad-5a834c94424c/cat.png',
      };
      assert.deepEqual(
        describePayload(ctx, DEFAULT_COMMANDS.describe, upload),
        fill(templates.describe, {
          ...base(ctx),
          file_name: upload.filename,
          final_file_name: upload.uploaded_filename,
        }),
      );
    });

    test(`blend of 3 images, portrait (${where})`, () => {
      const uploads = [0, 1, 2].map((i) => ({
        filename: `img${i}.png`,
        uploaded_filename: `u${i}/img${i}.png`,
      }));
      const names = Object.fromEntries(
        uploads.flatMap((u, i) => [
          [`file_name_${i}`, u.filename],
          [`final_file_name_${i}`, u.uploaded_filename],
        ]),
      );
      assert.deepEqual(
        blendPayload(ctx, DEFAULT_COMMANDS.blend, uploads, BLEND_DIMENSIONS.PORTRAIT),
        fill(templates.blend, { ...base(ctx), ...names }),
      );
    });

    test(`button (${where})`, () => {
      const hash = 'a7cb1552-f779-4094-9afe-2acf22dae280';
      assert.deepEqual(
        buttonPayload(ctx, {
          messageId: '1083788807800897597',
          messageFlags: 0,
          customId: `MJ::JOB::upsample::3::${hash}`,
        }),
        fill(templates.button, {
          ...base(ctx),
          message_id: '1083788807800897597',
          application_id: MIDJOURNEY_APP_ID,
          index: 3,
          message_hash: hash,
        }),
      );
    });

    test(`custom zoom modal submit (${where})`, () => {
      const hash = 'f58fa448-1620-4aca-9621-005ef9f3b383';
      const prompt = 'a red cat --zoom 1.8';
      assert.deepEqual(
        modalSubmitPayload(ctx, {
          interactionId: '1265207228676178061',
          modalCustomId: `MJ::OutpaintCustomZoomModal::${hash}`,
          fields: [{ customId: 'MJ::OutpaintCustomZoomModal::prompt', value: prompt }],
        }),
        fill(templates.modal, {
          ...base(ctx),
          application_id: MIDJOURNEY_APP_ID,
          message_id: '1265207228676178061',
          message_hash: hash,
          prompt,
        }),
      );
    });
  }
});

test('buttonPayload reproduces the real DM click of 2023 byte for byte', () => {
  const real = rawMessage('upscale_click_dm_2023');
  const built = buttonPayload(
    {
      channelId: '1069126859100524575',
      sessionId: '7687ebdc6846e1f686f02b14c4f150d1',
      nonce: '1083840138678632448',
    },
    {
      messageId: '1083838511947448451',
      messageFlags: 0,
      customId: 'MJ::JOB::upsample::4::350fb24a-dd72-45f2-ade8-048379a2ed5a',
    },
  );
  assert.deepEqual(built, real);
});

test('buttonPayload reproduces the real ephemeral appeal click (f), message_flags 64', () => {
  const real = rawMessage('f_appeal_click');
  const built = buttonPayload(
    {
      guildId: '…',
      channelId: '…',
      sessionId: 'e1b874e034cf4ddc6c9901abc282db5a',
      nonce: '1112675989332164608',
    },
    { messageId: '1112675669818744904', messageFlags: 64, customId: 'MJ::Prompts::Appeal::7_dEy36TiEY' },
  );
  assert.deepEqual(built, real);
});

test('blend without dimensions leaves the option out; 5 images get image1..image5', () => {
  const uploads = [0, 1, 2, 3, 4].map((i) => ({ filename: `f${i}.png`, uploaded_filename: `u/f${i}.png` }));
  const p = blendPayload(guild, DEFAULT_COMMANDS.blend, uploads);
  assert.deepEqual(
    p.data.options.map((o) => [o.name, o.type, o.value]),
    [0, 1, 2, 3, 4].map((i) => [`image${i + 1}`, 11, i]),
  );
  assert.deepEqual(
    p.data.attachments.map((a) => a.id),
    ['0', '1', '2', '3', '4'],
  );
});

test('BLEND_DIMENSIONS are the three choices of /blend', () => {
  assert.deepEqual(BLEND_DIMENSIONS, { PORTRAIT: '--ar 2:3', SQUARE: '--ar 1:1', LANDSCAPE: '--ar 3:2' });
});

test('PicReader modal submit and a niji button name their application', () => {
  const m = modalSubmitPayload(dm, {
    interactionId: '1',
    modalCustomId: 'MJ::Picreader::Modal::2',
    fields: [{ customId: 'MJ::Picreader::Modal::PromptField', value: 'Cat2 --ar 5:4' }],
    applicationId: NIJI_APP_ID,
  });
  assert.equal(m.application_id, NIJI_APP_ID);
  assert.deepEqual(m.data.components, [
    {
      type: 1,
      components: [{ type: 4, custom_id: 'MJ::Picreader::Modal::PromptField', value: 'Cat2 --ar 5:4' }],
    },
  ]);
  const b = buttonPayload(dm, { messageId: '5', messageFlags: 0, customId: 'x', applicationId: NIJI_APP_ID });
  assert.equal(b.application_id, NIJI_APP_ID);
});

describe('commands', () => {
  test('DEFAULT_COMMANDS are the §4.2 ids and versions', () => {
    assert.deepEqual(DEFAULT_COMMANDS, {
      imagine: { id: '938956540159881230', version: '1237876415471554623' },
      describe: { id: '1092492867185950852', version: '1237876415471554625' },
      blend: { id: '1062880104792997970', version: '1237876415471554624' },
      shorten: { id: '1121575372539039774', version: '1247736572414001223' },
      info: { id: '972289487818334209', version: '1237876415735660565' },
      settings: { id: '1000850743479255081', version: '1493662068581077053' },
      relax: { id: '972289487818334213', version: '1237876415735660573' },
      fast: { id: '972289487818334212', version: '1237876415735660572' },
      turbo: { id: '1124132684143271996', version: '1237876415790055474' },
    });
  });

  test('NIJI_COMMANDS are the niji ids of §4.2', () => {
    assert.deepEqual(NIJI_COMMANDS.imagine, { id: '1023054140580057099', version: '1248805223892254774' });
    assert.deepEqual(NIJI_COMMANDS.shorten, { id: '1121575453916942376', version: '1248805223892254777' });
  });

  test('commandsFromIndex reads Midjourney’s commands and ignores niji’s and others’', () => {
    const index = {
      applications: [
        { id: MIDJOURNEY_APP_ID, name: 'Midjourney Bot' },
        { id: NIJI_APP_ID, name: 'niji・journey Bot' },
      ],
      application_commands: [
        {
          id: '1023054140580057099',
          version: '1248805223892254774',
          name: 'imagine',
          application_id: NIJI_APP_ID,
        },
        {
          id: '938956540159881230',
          version: '1300000000000000001',
          name: 'imagine',
          application_id: MIDJOURNEY_APP_ID,
        },
        {
          id: '1062880104792997970',
          version: '1300000000000000002',
          name: 'blend',
          application_id: MIDJOURNEY_APP_ID,
        },
        {
          id: '972289487818334209',
          version: '1237876415735660565',
          name: 'info',
          application_id: MIDJOURNEY_APP_ID,
        },
        { id: '1', version: '2', name: 'describe', application_id: '123' },
        { name: 'describe', application_id: MIDJOURNEY_APP_ID },
      ],
      version: '1300000000000000000',
    };
    assert.deepEqual(commandsFromIndex(index), {
      imagine: { id: '938956540159881230', version: '1300000000000000001' },
      blend: { id: '1062880104792997970', version: '1300000000000000002' },
      info: { id: '972289487818334209', version: '1237876415735660565' },
    });
    assert.deepEqual(commandsFromIndex(index, NIJI_APP_ID), {
      imagine: { id: '1023054140580057099', version: '1248805223892254774' },
    });
  });

  test('commandsFromIndex of garbage is empty', () => {
    for (const junk of [null, 'x', 42, {}, { application_commands: 'no' }, []]) {
      assert.deepEqual(commandsFromIndex(junk), {});
    }
  });
});
