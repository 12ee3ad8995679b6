// CredentialStore on the Keychain: one kSecClassGenericPassword item per key (service = the
// app's, account = the SDK's key). Holds the device identity seed, device tokens and pins.
import Foundation
import Security
import Clawlet

final class KeychainCredentialStore: CredentialStore, @unchecked Sendable {
    private let service: String

    init(service: String) {
        self.service = service
    }

    func load(key: String) throws -> Data? {
        var query = baseQuery(key)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            guard let data = item as? Data else { throw failure("load", key, status) }
            return data
        case errSecItemNotFound:
            return nil
        default:
            throw failure("load", key, status)
        }
    }

    func save(key: String, value: Data) throws {
        let attributes: [String: Any] = [
            kSecValueData as String: value,
            // Readable in the background after the first unlock (push/background wake), never
            // migrated to another device by a backup: a device identity must stay on its device.
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
        ]
        var status = SecItemUpdate(baseQuery(key) as CFDictionary, attributes as CFDictionary)
        if status == errSecItemNotFound {
            var add = baseQuery(key)
            add.merge(attributes) { _, new in new }
            status = SecItemAdd(add as CFDictionary, nil)
        }
        guard status == errSecSuccess else { throw failure("save", key, status) }
    }

    func delete(key: String) throws {
        let status = SecItemDelete(baseQuery(key) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw failure("delete", key, status)
        }
    }

    private func baseQuery(_ key: String) -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: key,
        ]
    }

    /// The message names the key and the Keychain's reason, never the value.
    private func failure(_ op: String, _ key: String, _ status: OSStatus) -> StoreError {
        let reason = SecCopyErrorMessageString(status, nil) as String? ?? "OSStatus \(status)"
        return StoreError.Failed(message: "keychain \(op) \(key): \(reason)")
    }
}
