// Masking for anything that names a person's address in a response or a log line.

/** +14155550123 → +1*******0123: country code and last four digits kept. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/^\+/, '');
  if (digits.length <= 5) return '*'.repeat(phone.length);
  return `+${digits.slice(0, 1)}${'*'.repeat(digits.length - 5)}${digits.slice(-4)}`;
}

/** jane@example.com → j***@example.com */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  return `${email[0]}***${email.slice(at)}`;
}
