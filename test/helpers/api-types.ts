// Shapes of API answers as the tests select them; a file that selects more extends them.

export interface UserError {
  field: string[] | null;
  message: string;
  code: string;
}

/** A DeliveryLog with the fields every test selects. */
export interface LogBase {
  id: string;
  outcome: 'SUCCESS' | 'FAILURE';
  channel: string | null;
  reason: string | null;
  at: string;
}

export interface GatewayRef {
  id: string;
  name: string;
  provider: string;
}
