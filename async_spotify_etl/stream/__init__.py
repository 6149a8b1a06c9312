"""Publishing a dataset's runs to a stream (NATS JetStream), exactly once, and reading them."""
