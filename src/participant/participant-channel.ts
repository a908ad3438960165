import * as grpc from '@grpc/grpc-js';

/**
 * Channel options to a participant; equal options let grpc-js share one
 * connection between the unary and the batched stubs and the health checks
 * of an endpoint.
 */
export const PARTICIPANT_CHANNEL: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2_000,
};

/**
 * A channel made anew for an endpoint whose shared one failed: its own
 * connection (a local subchannel pool), so that it dials at once instead of
 * inheriting the failed connection's back-off.
 */
const FRESH_CHANNEL: grpc.ChannelOptions = {
  ...PARTICIPANT_CHANNEL,
  'grpc.use_local_subchannel_pool': 1,
};

/**
 * The cached stub of an endpoint, made anew when its channel is in
 * TRANSIENT_FAILURE. A channel whose last connection attempt failed fails
 * every call at once with that attempt's error until its back-off ends (up
 * to 2 s): a participant restarted meanwhile would see its first calls
 * refused though it serves. A new channel dials now, so what a call reports
 * (refused, TLS failure, an answer) is what the endpoint does now.
 * @param make builds a stub with the given channel options
 */
export function liveStub<T extends grpc.Client>(
  cache: Map<string, T>,
  endpoint: string,
  make: (options: grpc.ChannelOptions) => T,
): T {
  const cached = cache.get(endpoint);
  if (
    cached !== undefined &&
    cached.getChannel().getConnectivityState(false) !== grpc.connectivityState.TRANSIENT_FAILURE
  ) {
    return cached;
  }
  cached?.close();
  const stub = make(cached === undefined ? PARTICIPANT_CHANNEL : FRESH_CHANNEL);
  cache.set(endpoint, stub);
  return stub;
}
