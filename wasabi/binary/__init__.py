"""The binary format: value types, the opcode table and the module reader."""
