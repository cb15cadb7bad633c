"""The echo ("pingbot") plugin: answers ``!ping`` with a pong and ranks homeservers by latency."""
