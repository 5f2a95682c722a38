// What each vendor's adapter needs to send. Checked and normalized before anything is
// stored (modules/gateways/credentials.ts); sealed at rest, opened for the adapter.

export interface TwilioCredentials {
  accountSid: string;
  authToken: string;
  from: string;
}
export interface SendgridCredentials {
  apiKey: string;
  from: string;
  /** The verification key of the account's signed event webhook: events signed with it may change this gateway's messages. */
  webhookPublicKey?: string;
}
export interface TwitterCredentials {
  appKey: string;
  appSecret: string;
  accessToken: string;
  accessSecret: string;
}
export type Credentials = TwilioCredentials | SendgridCredentials | TwitterCredentials;
