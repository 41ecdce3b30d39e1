"""The commands, each a short sequence of stage calls (see toolkit/run/)."""
