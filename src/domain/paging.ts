/** One page of a list, newest first: at most `limit` rows, those with ids below `afterId`. */
export interface PageRequest {
  limit: number;
  afterId?: string;
}
