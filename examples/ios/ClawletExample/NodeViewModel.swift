// The app's one node: pairs from a scanned setup code, owns the NodeClient, and publishes what
// the UI shows (status line, pairing request id, error, the pin dialog).
import Foundation
import SwiftUI
import UIKit
import Clawlet

@MainActor
final class NodeViewModel: ObservableObject {
    /// The raw status, for views that want more than the text.
    @Published private(set) var status: NodeStatus = .idle
    /// One line for the user (NodeStatusText.describe).
    @Published private(set) var statusText = NodeStatusText.describe(.idle)
    /// Shown while the operator has to approve this phone ("clawlet devices approve <id>").
    @Published private(set) var pairingRequestId: String?
    /// The last error, phrased for the user; nil when things are fine.
    @Published private(set) var errorText: String?
    /// What the scanned code points at, shown before pairing.
    @Published private(set) var scannedGateway: String?
    /// Set while the SDK waits for the user to trust a certificate (trust on first use).
    @Published var pinPrompt: PinPrompt?
    /// The certificate changed: offer "trust the new certificate" (forgetPin + connect).
    @Published private(set) var pinMismatch = false

    private(set) var client: NodeClient?
    private let store = KeychainCredentialStore(service: "dev.clawlet.example.node")
    private let handler = AppCommandHandler()
    private let pinBridge = PinConfirmationBridge()
    /// The SDK's listener as AsyncStreams (the NodeStatusStream helper shipped with the
    /// bindings); confirmPin awaits the dialog (no thread is blocked).
    private lazy var listener = NodeStatusStream(confirmPin: { [weak self] url, fingerprint in
        await self?.askPin(gatewayUrl: url, fingerprint: fingerprint) ?? false
    })
    private var streamTasks: [Task<Void, Never>] = []
    private static let savedUrlKey = "clawlet.gatewayUrl"

    /// After a restart: reconnect to the gateway paired before (the device token is in the
    /// Keychain, so no setup code is needed again).
    func restore() {
        guard client == nil, let url = UserDefaults.standard.string(forKey: Self.savedUrlKey) else { return }
        start(config: makeConfig(gatewayUrl: url, setupCode: nil))
    }

    /// The user scanned (or pasted) a setup code / oc-pair:// link.
    func pair(scannedCode: String) {
        do {
            // Only for display and an early, friendly error; NodeClient parses it again.
            let info = try parseSetupCode(code: scannedCode)
            scannedGateway = info.url
            if let pin = info.tlsFingerprint {
                scannedGateway = "\(info.url) (certificate \(pin.prefix(16))…)"
            }
        } catch {
            errorText = NodeStatusText.describe(error)
            return
        }
        client?.disconnect()
        client = nil
        start(config: makeConfig(gatewayUrl: nil, setupCode: scannedCode))
    }

    /// Without a setup code: URL + the shared gateway token (`clawlet gateway auth-token`).
    /// wss:// certificates are pinned on first use.
    func connect(gatewayUrl: String, token: String) {
        client?.disconnect()
        client = nil
        var config = makeConfig(gatewayUrl: gatewayUrl, setupCode: nil)
        config.token = token
        start(config: config)
    }

    /// The user accepted the gateway's new certificate after a PinMismatch.
    func trustNewCertificate() {
        guard let client else { return }
        do {
            try client.forgetPin()
            pinMismatch = false
            try client.connect()
        } catch {
            errorText = NodeStatusText.describe(error)
        }
    }

    func disconnect() {
        client?.disconnect()
    }

    /// The pin dialog's buttons.
    func answerPinPrompt(trust: Bool) {
        pinPrompt = nil
        pinBridge.answer(trust)
    }

    /// Follows the listener's streams on the main actor for the model's life.
    private func observe() {
        guard streamTasks.isEmpty else { return }
        let statuses = listener.statuses()
        let notices = listener.notices()
        streamTasks.append(Task { [weak self] in
            for await status in statuses { self?.apply(status: status) }
        })
        streamTasks.append(Task { [weak self] in
            for await notice in notices {
                switch notice {
                case .pairingRequired(let requestId, _): self?.pairingRequestId = requestId
                case .pairingApproved: self?.pairingRequestId = nil
                case .error(let error): self?.apply(error: error)
                }
            }
        })
    }

    private func askPin(gatewayUrl: String, fingerprint: String) async -> Bool {
        await pinBridge.ask(gatewayUrl: gatewayUrl, fingerprint: fingerprint,
                            show: { [weak self] prompt in self?.pinPrompt = prompt },
                            hide: { [weak self] id in
                                if self?.pinPrompt?.id == id { self?.pinPrompt = nil }
                            })
    }

    private func start(config: NodeClientConfig) {
        observe()
        do {
            let client = try NodeClient(config: config, store: store, handler: handler, listener: listener)
            self.client = client
            UserDefaults.standard.set(client.gatewayUrl(), forKey: Self.savedUrlKey)
            errorText = nil
            try client.connect()
        } catch {
            errorText = NodeStatusText.describe(error)
        }
    }

    private func makeConfig(gatewayUrl: String?, setupCode: String?) -> NodeClientConfig {
        let device = UIDevice.current
        // Only displayName, platform and appVersion are required (the rest has SDK defaults);
        // Swift wants the arguments in declaration order.
        return NodeClientConfig(
            displayName: device.name,
            platform: "ios",
            appVersion: AppCommandHandler.appVersion(),
            gatewayUrl: gatewayUrl,
            setupCode: setupCode,
            deviceFamily: device.model,                 // "iPhone", "iPad"
            modelIdentifier: AppCommandHandler.modelIdentifier(),
            caps: ["device", "location"],
            commands: ["device.info", "location.get"],
            permissions: ["location": LocationAccess.isAuthorized()],
            pinPolicy: .trustOnFirstUse                 // a pin in the setup code wins over this
        )
    }

    // MARK: - the listener's streams, on the main actor

    private func apply(status: NodeStatus) {
        self.status = status
        statusText = NodeStatusText.describe(status)
        switch status {
        case .awaitingApproval(let requestId):
            pairingRequestId = requestId
        case .connected:
            pairingRequestId = nil
            errorText = nil
        default:
            break
        }
    }

    private func apply(error: NodeError) {
        errorText = NodeStatusText.describe(error)
        if case .PinMismatch = error { pinMismatch = true }
    }
}
