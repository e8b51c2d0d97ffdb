// Package sidebar is everything the agent sees: the embedded custom element
// (plain JS and CSS, no build step), the websocket hub that answers "which
// customer is this chat?", and the order backends behind it.
package sidebar
