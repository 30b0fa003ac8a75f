import ProtonClient

extension Profile.Started {
    /// Stored, but the first message waits in the outbox (exit 75).
    func undeliveredFailure() -> CommandFailure? {
        guard let notDelivered else { return nil }
        return CommandFailure(
            status: .temporaryFailure,
            message: "The relationship is stored but your first message is not delivered yet (\(notDelivered)); "
                + "the next 'proton send' or 'proton receive' retries it.")
    }
}
