// Bench stage "templates": sendNotification rendering a template against sendSms with free
// text, on one `--role api` child, over the same keep-alive connections, in the same run.
// The two alternate in rounds (A B A B) so a noisy neighbour weighs on both alike; the
// ratio is notifications/s over sendSms/s, summed over the rounds.
import { createClientRecipients, fmt, graphqlClient, payloadOf, runLoad, smsBody, stopChild, verdict } from './lib.mjs';

/** sendNotification with a template accepts at least this share of sendSms's rate. */
const TARGET_RATIO = 0.9;
const ROUNDS = 2;

const SEND_SMS = `mutation Bench($input: SendSmsInput!) {
  sendSms(input: $input) { message { id status } userErrors { code message field } }
}`;
const SEND_NOTIFICATION = `mutation Bench($input: SendNotificationInput!) {
  sendNotification(input: $input) { message { id status } userErrors { code message field } }
}`;
const CREATE_TEMPLATE = `mutation Bench($input: CreateTemplateInput!) {
  createTemplate(input: $input) { template { id } userErrors { code message field } }
}`;

// The shape of a real one-time-code or appointment text: two personalised values, a condition.
const TEMPLATE_BODY =
  'Hi {{ recipient.name }}, your appointment {{ ref }} is on {{ day }} at {{ time }}.{% if note %} {{ note }}{% endif %} Reply STOP to opt out.';

export async function templatesStage({ s, startRole, db }) {
  console.log('bench: templates: starting Herald --role api…');
  const api = await startRole('api', db);
  try {
    const recipients = await createClientRecipients(api.port, {
      n: 8,
      concurrency: 4,
      operation: 'Bench',
      label: 'Template client',
      phonePrefix: '+1415557',
    });
    const setup = graphqlClient(api.port, 1);
    const made = payloadOf(
      await setup.post(CREATE_TEMPLATE, {
        input: { name: 'Bench appointment', channel: 'SMS', variants: [{ locale: 'en', body: TEMPLATE_BODY }] },
      }),
      'createTemplate',
    );
    setup.agent.destroy();
    if (made.problem) throw new Error(`createTemplate: ${made.problem}`);
    const templateId = made.payload.template.id;

    const drive = (document, field, input) => async () => {
      const client = graphqlClient(api.port, s.concurrency);
      let n = 0;
      try {
        return await runLoad({
          concurrency: s.concurrency,
          seconds: s.seconds / ROUNDS,
          warmupSeconds: s.warmupSeconds,
          once: async () => {
            const i = n++;
            return payloadOf(await client.post(document, { input: input(i, recipients[i % recipients.length]) }), field).problem ?? null;
          },
        });
      } finally {
        client.agent.destroy();
      }
    };
    const sms = drive(SEND_SMS, 'sendSms', (i, clientId) => ({ clientId, message: smsBody(i) }));
    const notify = drive(SEND_NOTIFICATION, 'sendNotification', (i, recipientId) => ({
      recipientId,
      channel: 'SMS',
      templateId,
      personalisation: { ref: `A-${i}`, day: 'Tuesday 8 December', time: '09:30', note: i % 2 ? 'Bring your card.' : null },
    }));

    const totals = { sms: emptyTotal(), notify: emptyTotal() };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, run] of [
        ['sms', sms],
        ['notify', notify],
      ]) {
        console.log(
          `bench: templates: round ${round}/${ROUNDS}, ${name === 'sms' ? 'sendSms' : 'sendNotification'}, ${s.seconds / ROUNDS} s…`,
        );
        const r = await run();
        add(totals[name], r);
        console.log(
          `  ${fmt(r.rate)} /s, p99 ${r.p99.toFixed(2)} ms, errors ${r.errors}${r.errorSamples.length ? ` (${r.errorSamples[0]})` : ''}`,
        );
      }
    }
    const smsRate = totals.sms.done / totals.sms.seconds;
    const notifyRate = totals.notify.done / totals.notify.seconds;
    const ratio = notifyRate / smsRate;
    const rows = [
      [
        'sendSms, free text',
        `${fmt(smsRate)} /s`,
        `${s.concurrency} connections, ${ROUNDS} rounds of ${s.seconds / ROUNDS} s`,
        'baseline',
        '',
      ],
      ['sendNotification, SMS template', `${fmt(notifyRate)} /s`, `max p99 ${totals.notify.p99.toFixed(2)} ms`, '', ''],
      [
        'sendNotification / sendSms',
        ratio.toFixed(2),
        'rendering must not be the bottleneck',
        `≥ ${TARGET_RATIO}`,
        verdict(ratio >= TARGET_RATIO),
      ],
      [
        'errors',
        String(totals.sms.errors + totals.notify.errors),
        'non-2xx, GraphQL errors, userErrors',
        '0',
        verdict(totals.sms.errors + totals.notify.errors === 0),
      ],
    ];
    return { key: 'templates', title: 'templates (sendNotification with a template against sendSms)', rows };
  } finally {
    await stopChild(api.child);
  }
}

function emptyTotal() {
  return { done: 0, errors: 0, seconds: 0, p99: 0 };
}

function add(total, r) {
  total.done += r.done;
  total.errors += r.errors;
  total.seconds += r.seconds;
  total.p99 = Math.max(total.p99, r.p99);
}
