"""grpc.health.v1 messages, generated (tools/generate.py); grpcio-health-checking's are used when installed."""
