import ArgumentParser

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run as the daemon: a cycle every interval, and on SIGUSR1.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        throw ValidationError("the daemon loop is not built yet")
    }
}
