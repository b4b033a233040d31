import Glibc
import ObjectStorage
import TestSupport
import Testing

@Suite struct CredentialsTests {
    let text = """
        # written by aws configure
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key = secret/default+key

        [dock7]
        aws_access_key_id=AKIDDOCK7
        aws_secret_access_key=s3cr3t
        aws_session_token = FQoGZXIvYXdzEJr
        """

    func file(mode: mode_t) throws -> (TemporaryDirectory, String) {
        let folder = try TemporaryDirectory(prefix: "dms-cred")
        let path = try folder.writeFile("credentials", bytes: Array(text.utf8)).string
        #expect(chmod(path, mode) == 0)
        return (folder, path)
    }

    @Test func aPrivateFileGivesTheProfilesKeys() throws {
        let (folder, path) = try file(mode: 0o600)
        defer { try? folder.remove() }
        let standard = try AWSCredentials.fromFile(path, profile: "default")
        #expect(standard.accessKeyID == "AKIDDEFAULT" && standard.secretAccessKey == "secret/default+key" && standard.sessionToken == nil)
        let dock = try AWSCredentials.fromFile(path, profile: "dock7")
        #expect(dock.accessKeyID == "AKIDDOCK7" && dock.secretAccessKey == "s3cr3t" && dock.sessionToken == "FQoGZXIvYXdzEJr")
        #expect(!"\(dock)".contains("s3cr3t") && !"\(dock)".contains("FQoG"), "description redacts the secrets")
    }

    @Test(arguments: [0o644, 0o640, 0o604] as [mode_t])
    func aFileOthersCanReadIsRefusedNamingItsMode(mode: mode_t) throws {
        let (folder, path) = try file(mode: mode)
        defer { try? folder.remove() }
        let error = #expect(throws: CredentialsError.self) { try AWSCredentials.fromFile(path, profile: "default") }
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains(String(format: "%04o", mode)) == true, "\(String(describing: error))")
        #expect(error?.description.contains("chmod 600") == true)
        #expect(error?.description.contains("secret/default") == false)
    }

    @Test func aMissingProfileOrFileIsNamed() throws {
        let (folder, path) = try file(mode: 0o400)
        defer { try? folder.remove() }
        let noProfile = #expect(throws: CredentialsError.self) { try AWSCredentials.fromFile(path, profile: "dock9") }
        #expect(noProfile?.description.contains("[dock9]") == true)
        let noFile = #expect(throws: CredentialsError.self) { try AWSCredentials.fromFile(path + ".missing", profile: "default") }
        #expect(noFile?.description.contains(path + ".missing") == true)
    }

    @Test func theEnvironmentNeedsBothKeys() throws {
        let both = try AWSCredentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "sk", "AWS_SESSION_TOKEN": ""])
        #expect(both.accessKeyID == "AKID" && both.sessionToken == nil)
        let error = #expect(throws: CredentialsError.self) { try AWSCredentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "AKID"]) }
        #expect(error?.description.contains("AWS_SECRET_ACCESS_KEY") == true)
    }
}
