/**
 * What stands where a person's data was, once their recipient is erased (eraseRecipient):
 * message bodies, subjects and destinations, and any text that named them. A message whose
 * destination is this is erased, and Herald sends it to no one.
 */
export const ERASED = '[erased]';
