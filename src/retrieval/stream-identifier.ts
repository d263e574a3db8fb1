/** The stream a call targets: ARN when the user gave one (cross-account), else the name. */
export interface StreamIdentifier {
  streamName?: string;
  streamArn?: string;
}

export const streamParams = (stream: StreamIdentifier): { StreamARN: string } | { StreamName: string } =>
  stream.streamArn !== undefined ? { StreamARN: stream.streamArn } : { StreamName: stream.streamName ?? '' };

export const streamLabel = (stream: StreamIdentifier): string => stream.streamArn ?? stream.streamName ?? '?';
