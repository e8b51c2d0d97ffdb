// Package chats is the chat map: every chat user the console's traffic
// named (Record), kept in memory for the sidebar's every click and in
// SQLite so that a restart forgets nobody, and the identity resolver that
// answers "which user is this chat?" from what the page shows (Resolve).
// The resolver is the one place that weighs the evidence; its doc comment
// states the invariant a property test holds it to: never a confident
// wrong customer.
package chats
