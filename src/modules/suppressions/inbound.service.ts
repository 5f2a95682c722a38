// Inbound messages on a tenant's Twilio number: the opt-out keywords carriers require.
// STOP (and STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) lists the sender for the tenant's
// stopSuppresses categories; START or UNSTOP removes what an inbound STOP listed (not what
// the API, a provider or a bounce did); HELP is answered with the tenant's helpReply. The
// keyword is the whole body, trimmed, in any case. Anything else is not Herald's to read.
//
// The request is Twilio's: the gateway is found by the AccountSid and the `To` number among
// the tenants' Twilio gateways, and X-Twilio-Signature must hold under that gateway's auth
// token over the URL called, exactly as for status callbacks.
import type { Logger } from 'pino';
import type { Database } from '../../db/client.js';
import type { Channel } from '../../domain/enums.js';
import type { TwilioCredentials } from '../../providers/credentials.js';
import { twilioSignatureHolds } from '../../providers/twilio/signature.js';
import * as gatewaysQ from '../gateways/gateways.queries.js';
import type { GatewaysService } from '../gateways/gateways.service.js';
import * as tenantsQ from '../tenants/tenants.queries.js';
import { normalizeDestination } from './destination.js';
import type { SuppressionsService } from './suppressions.service.js';

const STOP_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT']);
const START_WORDS = new Set(['START', 'UNSTOP']);
const HELP_WORDS = new Set(['HELP']);

/** What an inbound keyword asks for, or undefined for any other text. */
export function keywordOf(body: string | undefined): 'STOP' | 'START' | 'HELP' | undefined {
  const word = (body ?? '').trim().toUpperCase();
  if (STOP_WORDS.has(word)) return 'STOP';
  if (START_WORDS.has(word)) return 'START';
  if (HELP_WORDS.has(word)) return 'HELP';
  return undefined;
}

export interface TwimlAnswer {
  status: number;
  /** TwiML (text/xml) on 200; a short text otherwise. */
  body: string;
}

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

export class InboundService {
  constructor(
    private readonly db: Database,
    private readonly gateways: GatewaysService,
    private readonly suppressions: SuppressionsService,
    private readonly log: Logger,
  ) {}

  async twilioInbound(params: Record<string, string>, signature: string | undefined, url: string, now = new Date()): Promise<TwimlAnswer> {
    if (!signature) return this.refuse('missing X-Twilio-Signature');
    const from = params.From ?? '';
    const channel: Channel = /^whatsapp:/i.test(from) ? 'WHATSAPP' : 'SMS';
    const to = normalizeDestination(channel, params.To ?? '');
    const accountSid = params.AccountSid;
    if (!to || !accountSid) return this.refuse('no AccountSid or To number of a Twilio gateway');
    const tenantIds = await this.verifiedTenants(channel, accountSid, to, signature, url, params);
    if (tenantIds.length === 0) return this.refuse('X-Twilio-Signature does not match a Twilio gateway of this AccountSid and number');

    const keyword = keywordOf(params.Body);
    const sender = normalizeDestination(channel, from);
    if (!keyword || !sender) return { status: 200, body: EMPTY_TWIML };
    if (keyword === 'HELP') {
      const tenant = await tenantsQ.findTenant(this.db, tenantIds[0]);
      return { status: 200, body: tenant?.helpReply ? twimlMessage(tenant.helpReply) : EMPTY_TWIML };
    }
    for (const tenantId of tenantIds) {
      await this.db.transaction(async (tx) => {
        if (keyword === 'START') {
          await this.suppressions.unsuppress(tx, tenantId, channel, sender, 'INBOUND_STOP', now);
          return;
        }
        const tenant = await tenantsQ.findTenant(tx, tenantId);
        if (!tenant) return;
        await this.suppressions.suppress(
          tx,
          {
            tenantId,
            channel,
            destination: sender,
            source: 'INBOUND_STOP',
            categories: tenant.stopSuppresses,
            reason: `the recipient replied ${(params.Body ?? '').trim().toUpperCase()}`,
          },
          now,
        );
      });
    }
    // Ids only: the sender's number is the person's.
    this.log.info({ tenantIds, channel, keyword }, 'inbound opt-out keyword applied');
    // Twilio's own opt-out handling answers STOP and START on the number; Herald adds nothing.
    return { status: 200, body: EMPTY_TWIML };
  }

  /** The tenants whose Twilio gateway on `channel` has this account and number, and whose auth token signed the request. */
  private async verifiedTenants(
    channel: Channel,
    accountSid: string,
    to: string,
    signature: string,
    url: string,
    params: Record<string, string>,
  ): Promise<string[]> {
    const tenants = new Set<string>();
    for (const gateway of await gatewaysQ.gatewaysOfProvider(this.db, 'TWILIO')) {
      if (gateway.channel !== channel) continue;
      let credentials: TwilioCredentials | null;
      try {
        credentials = this.gateways.credentialsOf(gateway) as TwilioCredentials | null;
      } catch {
        continue;
      }
      if (!credentials || credentials.accountSid !== accountSid || normalizeDestination(channel, credentials.from) !== to) continue;
      if (twilioSignatureHolds(credentials.authToken, signature, url, params)) tenants.add(gateway.tenantId);
    }
    return [...tenants];
  }

  private refuse(why: string): TwimlAnswer {
    this.log.warn({ provider: 'twilio', why }, 'inbound webhook refused');
    return { status: 403, body: 'signature check failed' };
  }
}

function twimlMessage(text: string): string {
  const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Message>${escaped}</Message></Response>`;
}
