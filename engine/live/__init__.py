"""Live trading: the engine process, its runners and feeds, and the Redis channel to it."""
