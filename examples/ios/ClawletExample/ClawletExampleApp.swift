// Wiring: one NodeViewModel for the app, lifecycle hooks, push → wake, and a small UI.
import SwiftUI
import UIKit
import Clawlet

@main
struct ClawletExampleApp: App {
    @UIApplicationDelegateAdaptor(AppDelegate.self) private var appDelegate
    @Environment(\.scenePhase) private var scenePhase

    var body: some Scene {
        WindowGroup {
            NodeView(model: appDelegate.model)
                .onAppear { appDelegate.model.restore() }
        }
        .onChange(of: scenePhase) { phase in
            appDelegate.lifecycle.scenePhaseChanged(phase)
        }
    }
}

final class AppDelegate: NSObject, UIApplicationDelegate {
    @MainActor lazy var model = NodeViewModel()
    @MainActor lazy var lifecycle = NodeLifecycle(model: model)

    func application(_ application: UIApplication,
                     didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]? = nil) -> Bool {
        // First, so the SDK's log (connection attempts, errors) reaches os_log from the start.
        OSLogSink.install()
        NodeLifecycle.registerBackgroundTasks { [unowned self] in self.model }
        application.registerForRemoteNotifications()
        return true
    }

    // Silent push ("content-available": 1): wake the node for a lease.
    func application(_ application: UIApplication,
                     didReceiveRemoteNotification userInfo: [AnyHashable: Any]) async -> UIBackgroundFetchResult {
        await lifecycle.handleSilentPush()
    }
}

struct NodeView: View {
    @ObservedObject var model: NodeViewModel
    @State private var code = ""

    var body: some View {
        Form {
            Section("Pair") {
                // A real app scans the QR code (AVFoundation / VisionKit DataScannerViewController);
                // the scanned string is the same as what is pasted here.
                TextField("oc-pair://… setup code", text: $code)
                    .textInputAutocapitalization(.never)
                    .autocorrectionDisabled()
                Button("Pair") { model.pair(scannedCode: code) }
                    .disabled(code.isEmpty)
                if let gateway = model.scannedGateway {
                    LabeledContent("Gateway", value: gateway)
                }
            }
            Section("Status") {
                Text(model.statusText)
                if let requestId = model.pairingRequestId {
                    LabeledContent("Pairing request", value: requestId)
                        .textSelection(.enabled)
                }
                if let error = model.errorText {
                    Text(error).foregroundStyle(.red)
                }
                if model.pinMismatch {
                    Button("Trust the new certificate", role: .destructive) { model.trustNewCertificate() }
                }
                Button("Disconnect") { model.disconnect() }
            }
        }
        .alert(item: $model.pinPrompt) { prompt in
            Alert(
                title: Text("Trust this gateway?"),
                message: Text("\(prompt.gatewayUrl)\n\nCertificate SHA-256:\n\(prompt.grouped)\n\nCompare it with `clawlet gateway tls-fingerprint` on the gateway host."),
                primaryButton: .default(Text("Trust")) { model.answerPinPrompt(trust: true) },
                secondaryButton: .cancel(Text("Don't trust")) { model.answerPinPrompt(trust: false) }
            )
        }
    }
}
