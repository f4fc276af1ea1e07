"""What an operator sees of a running catalog: Prometheus metrics and OpenTelemetry traces."""
