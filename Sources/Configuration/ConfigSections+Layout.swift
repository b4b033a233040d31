/// The "layout" section (remote layout template and dock id).
extension ConfigReader {
    func readLayout(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> Config.Layout {
        let object = try section(value, path, "layout")
        var layout = Config.Layout()
        for key in object.orderedKeys {
            let (value, path) = try entry(object, key)
            switch key {
            case "dock_id":
                let expected = "null or 1-64 characters of A-Z a-z 0-9 . _ -, not starting with \".\" or \"-\""
                layout.dockID = try optionalString(value, path, expected)
                if let id = layout.dockID, !DockID.isValid(id) { throw invalid(path, expected, value) }
            case "remote_layout":
                let text = try string(value, path, "a template such as \"{dock}/{yyyy}/{mm}/{dd}/{name}\"")
                do { layout.remoteLayout = try LayoutTemplate(text) } catch {
                    throw invalid(path, "a layout template such as \"{dock}/{yyyy}/{mm}/{dd}/{name}\"; this one \(error)", value)
                }
            default: unhandled(key)
            }
        }
        return layout
    }
}
