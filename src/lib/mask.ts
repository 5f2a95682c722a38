// Masking for anything that names a person's address in a response or a log line.

/**
 * +14155550123 → +1*******0123: the first digit and the last four kept, the middle a
 * fixed run of stars so the mask does not even tell the number's length.
 */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/^\+/, '');
  if (digits.length <= 5) return '*'.repeat(phone.length);
  return `+${digits.slice(0, 1)}*******${digits.slice(-4)}`;
}

/** jane@example.com → j***@example.com */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  return `${email[0]}***${email.slice(at)}`;
}
