"""The Slack side of journeybot: the Bolt app, listeners by surface, Block Kit, i18n."""
