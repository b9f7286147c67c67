// Placeholder entry until the agent lands.
export {};
